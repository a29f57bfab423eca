"""Input channels: how each channel's data reaches each host (File, FastFile, Pipe)."""
