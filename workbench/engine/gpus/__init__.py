"""GPUs: each host's share of this machine's NVIDIA GPUs, and their samples while a job runs.

    inventory       the machine's GPUs through NVML (no driver is a state, never an error)
    assign          which GPUs each host gets (pure: instance types, GPUs, Workbench.Gpus)
    docker_support  whether the Docker engine can hand GPUs to containers (toolkit, CDI)
    sampler         utilisation, memory and processes per GPU, as GpuSample events
    machine         the machine's GPUs now, with the jobs' hosts using them (`sm-workbench gpus`)
    record          how GPU events fold into describe.json, and a job's GPUs from its events
    extension       the hooks the runner calls (device requests, sampling)
"""
