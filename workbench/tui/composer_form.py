"""The composer's form as one table: its sections in order, and the fields each holds.

`FORM` is the only place that says what the composer shows: the composer builds its list
of sections, each section's pane and `SECTION_OF` (which top-level member of the spec a
section edits, so a problem opens the right one) from it. Adding a field is one entry
in its section; adding a section is one `Section`. Parts describe a widget and the spec
paths it edits; the widgets (`workbench.tui.widgets`) keep their ids and classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Label, RadioButton, RadioSet, TextArea

from workbench.errors import WorkbenchError
from workbench.spec.metrics import FIELD as METRICS_FIELD
from workbench.spec.model import instance_types, request_model
from workbench.spec.paths import format_path, parse_path
from workbench.spec.settings import WORKBENCH_KEY, setting_fields
from workbench.tui.widgets.channel_list import PATH as CHANNELS_PATH
from workbench.tui.widgets.channel_list import ChannelList
from workbench.tui.widgets.instance_groups_editor import PATH as GROUPS_PATH
from workbench.tui.widgets.instance_groups_editor import InstanceGroupsEditor
from workbench.tui.widgets.key_value_editor import KeyValueEditor
from workbench.tui.widgets.settings_form import SettingsForm
from workbench.tui.widgets.spec_fields import (
    BoolField, ChoiceField, SpecField, TextField, enum_options, label_words, model_doc,
)


class Part(Protocol):
    """Something a section holds: the top-level members of the spec it edits (known
    without reading the API model, so importing the form costs nothing), the spec paths
    its fields edit, and its widgets."""

    def members(self) -> tuple[str, ...]: ...

    def paths(self) -> tuple[str, ...]: ...

    def compose(self) -> ComposeResult: ...


def _top(path: str) -> str:
    return str(parse_path(path)[0])


# --- fields: one labelled control bound to one spec path -------------------------------

@dataclass(frozen=True)
class Field:
    path: str
    label: str
    help: str = ""

    def members(self) -> tuple[str, ...]:
        return (_top(self.path),)

    def paths(self) -> tuple[str, ...]:
        return (self.path,)

    def compose(self) -> ComposeResult:
        yield self.widget()

    def widget(self) -> SpecField:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Field):
    """A one-line input, typed by the API model; `browse` adds a file picker."""

    placeholder: str = ""
    browse: bool = False

    def widget(self) -> SpecField:
        return TextField(self.path, self.label, help=self.help, placeholder=self.placeholder, browse=self.browse)


@dataclass(frozen=True)
class Choice(Field):
    """One value of a list: the API model's enum at the path unless `options` says."""

    blank: str = "(not set)"  # shown when the field is left out
    options: Callable[[], list[str]] | None = None

    def widget(self) -> SpecField:
        options = self.options() if self.options else enum_options(self.path)
        return ChoiceField(self.path, self.label, options, help=self.help, blank=self.blank)


@dataclass(frozen=True)
class Check(Field):
    """Yes, or left out."""

    def widget(self) -> SpecField:
        return BoolField(self.path, self.label, help=self.help)


@dataclass(frozen=True)
class KeyValues(Field):
    """A string-to-string map as rows of key and value."""

    def widget(self) -> SpecField:
        return KeyValueEditor(self.path, self.label, help=self.help)


# --- parts with widgets of their own ----------------------------------------------------

@dataclass(frozen=True)
class ModelMembers:
    """A text field per member the API model gives a structure, so members a later
    botocore adds appear by themselves."""

    structure: str
    fallback: tuple[str, ...]  # if the model has no such structure
    placeholders: Mapping[str, str] = field(default_factory=dict)
    helps: Mapping[str, str] = field(default_factory=dict)  # else the model's own words

    def members(self) -> tuple[str, ...]:
        return (self.structure,)

    def fields(self) -> tuple[Field, ...]:
        shape = request_model().root.members.get(self.structure)
        names = list(shape.members) if shape is not None else list(self.fallback)
        return tuple(Text(f"{self.structure}.{name}", label_words(name), placeholder=self.placeholders.get(name, ""),
                          help=self.helps.get(name) or model_doc(f"{self.structure}.{name}", 120))
                     for name in names)

    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.fields())

    def compose(self) -> ComposeResult:
        for item in self.fields():
            yield from item.compose()


@dataclass(frozen=True)
class Channels:
    """InputDataConfig as a list; a channel is edited in its own dialog."""

    def members(self) -> tuple[str, ...]:
        return (_top(CHANNELS_PATH),)

    def paths(self) -> tuple[str, ...]:
        return (CHANNELS_PATH,)

    def compose(self) -> ComposeResult:
        yield ChannelList()


@dataclass(frozen=True)
class Resources:
    """One instance type (the `single` fields) or instance groups, with a switch between
    them; the draft keeps the mode (`SpecDraft.set_resource_mode`), the composer shows it."""

    single: tuple[Field, ...]

    def members(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_top(path) for path in self.paths()))

    def paths(self) -> tuple[str, ...]:
        return (*(f.path for f in self.single), GROUPS_PATH)

    def compose(self) -> ComposeResult:
        with RadioSet(id="resource-mode", compact=True):
            yield RadioButton("One instance type", id="mode-single", value=True)
            yield RadioButton("Instance groups (heterogeneous cluster)", id="mode-groups")
        with Vertical(id="single-resources"):
            for item in self.single:
                yield from item.compose()
        yield InstanceGroupsEditor(instance_types(), id="groups-editor")


METRICS_PATH = format_path(list(METRICS_FIELD))


@dataclass(frozen=True)
class MetricDefinitions:
    """AlgorithmSpecification.MetricDefinitions as rows, each regex checked live against
    the spec's last run. Its own section: AlgorithmSpecification's other members stay in
    the Algorithm section (`OWN_SECTIONS`)."""

    def members(self) -> tuple[str, ...]:
        return ()

    def paths(self) -> tuple[str, ...]:
        return (METRICS_PATH,)

    def compose(self) -> ComposeResult:
        # deferred: its live check (reading a job's output) is only for the composer, not the app's start
        from workbench.tui.widgets.metric_definitions_editor import MetricDefinitionsEditor

        yield MetricDefinitionsEditor(help="read from every host's stdout and stderr as SageMaker reads them: "
                                           "the value is the first group ( ), read as a number")


@dataclass(frozen=True)
class Settings:
    """The Workbench settings, generated from their own metadata (see SettingsForm)."""

    def members(self) -> tuple[str, ...]:
        return (WORKBENCH_KEY,)

    def paths(self) -> tuple[str, ...]:
        return tuple(f"{WORKBENCH_KEY}.{name}" for name, spec_field in setting_fields().items()
                     if not spec_field.metadata.get("internal"))  # as SettingsForm shows them (not TuningJob)

    def compose(self) -> ComposeResult:
        yield SettingsForm()


@dataclass(frozen=True)
class Title:
    text: str

    def members(self) -> tuple[str, ...]:
        return ()

    def paths(self) -> tuple[str, ...]:
        return ()

    def compose(self) -> ComposeResult:
        yield Label(self.text, classes="section-title")


@dataclass(frozen=True)
class YamlPreview:
    def members(self) -> tuple[str, ...]:
        return ()

    def paths(self) -> tuple[str, ...]:
        return ()

    def compose(self) -> ComposeResult:
        yield TextArea("", read_only=True, show_line_numbers=True, id="yaml-preview")


# --- sections ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Section:
    key: str  # its pane is #section-<key>
    title: str
    parts: tuple[Part, ...]
    scrolls: bool = True  # False: the pane fills the height (the YAML preview scrolls itself)

    def paths(self) -> tuple[str, ...]:
        return tuple(path for part in self.parts for path in part.paths())

    def members(self) -> tuple[str, ...]:
        """The top-level members of the spec this section edits."""
        return tuple(dict.fromkeys(member for part in self.parts for member in part.members()))

    def container(self) -> Widget:
        if self.scrolls:
            return VerticalScroll(id=f"section-{self.key}", classes="section", can_focus=False)
        return Vertical(id=f"section-{self.key}", classes="section")


STOPPING_HELP = {
    "MaxRuntimeInSeconds": "from the start of training; then SIGTERM, grace, SIGKILL (MaxRuntimeExceeded)",
    "MaxWaitTimeInSeconds": "spot jobs only: training plus waiting for spot capacity; at least MaxRuntime",
    "MaxPendingTimeInSeconds": "how long the job may wait for capacity before it starts",
}

FORM: tuple[Section, ...] = (
    Section("job", "Job", (
        Text("TrainingJobName", "Job name", placeholder="empty: image name + time"),
        Text("RoleArn", "Role ARN", placeholder="local runs use a placeholder role"),
        Text("OutputDataConfig.S3OutputPath", "Output path", browse=True,
             placeholder="s3://bucket/prefix or a local folder",
             help="model.tar.gz and output.tar.gz go to <path>/<job>/output/"),
        Choice("OutputDataConfig.CompressionType", "Compression", blank="(GZIP)"),
        Check("EnableNetworkIsolation", "Network isolation",
              help="containers get no network access beyond the job's own"),
    )),
    Section("algorithm", "Algorithm", (
        Text("AlgorithmSpecification.TrainingImage", "Training image", placeholder="e.g. sm-workbench/shell:latest",
             help="an image in the local Docker engine (never pulled)"),
        Choice("AlgorithmSpecification.TrainingInputMode", "Input mode", blank="(File)"),
        Text("AlgorithmSpecification.ContainerEntrypoint", "Entrypoint", placeholder="e.g. python3 /opt/ml/code/train.py",
             help="empty: the image's own ENTRYPOINT; words are split as a shell splits them"),
        Text("AlgorithmSpecification.ContainerArguments", "Arguments", placeholder="e.g. --epochs 3",
             help="empty: `train` (with no entrypoint), as SageMaker runs it"),
    )),
    Section("metrics", "Metrics", (MetricDefinitions(),)),
    Section("hyperparameters", "Hyperparameters", (
        KeyValues("HyperParameters", "Hyperparameters",
                  help="strings to strings; the container reads /opt/ml/input/config/hyperparameters.json"),
    )),
    Section("channels", "Channels", (Channels(),)),
    Section("resources", "Resources", (
        Resources(single=(
            Choice("ResourceConfig.InstanceType", "Instance type", blank="(ml.m5.large)", options=instance_types),
            Text("ResourceConfig.InstanceCount", "Instance count", placeholder="1",
                 help="one container per instance: algo-1, algo-2, ..."),
        )),
        Text("ResourceConfig.VolumeSizeInGB", "Volume size (GB)", placeholder="30", help="accepted and ignored locally"),
    )),
    Section("checkpoints", "Checkpoints", (
        Text("CheckpointConfig.S3Uri", "Checkpoint URI", browse=True,
             placeholder="s3://bucket/checkpoints/ or a local folder", help="restored at start, synced while training"),
        Text("CheckpointConfig.LocalPath", "Local path", placeholder="/opt/ml/checkpoints"),
    )),
    Section("stopping", "Stopping & spot", (
        ModelMembers("StoppingCondition", fallback=("MaxRuntimeInSeconds", "MaxWaitTimeInSeconds"),
                     placeholders={"MaxRuntimeInSeconds": "86400"}, helps=STOPPING_HELP),
        Check("EnableManagedSpotTraining", "Managed spot training",
              help="spot jobs can be interrupted (i) and restart from checkpoints"),
    )),
    Section("environment", "Environment", (
        KeyValues("Environment", "Environment", help="variables set in every container (keys: letters, digits, _)"),
    )),
    Section("workbench", "Workbench", (Title("Local-only settings (never sent to SageMaker)"), Settings())),
    Section("yaml", "YAML", (Title("What ctrl+s writes:"), YamlPreview()), scrolls=False),
)

SECTION_OF = {member: section.key for section in FORM for member in section.members()}
# Fields shown in a section other than their top-level member's (the longest path wins).
OWN_SECTIONS = {METRICS_PATH: "metrics"}


def section_for(path: str) -> str:
    """The section that shows a problem at `path` (the YAML for members the form has no field for)."""
    for own, key in OWN_SECTIONS.items():
        if path == own or path.startswith((own + ".", own + "[")):
            return key
    try:
        top = parse_path(path)[0] if path else ""
    except WorkbenchError:
        return "yaml"
    return SECTION_OF.get(str(top), "yaml")
