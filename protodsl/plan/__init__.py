"""The codec plan: the IR lowered once into what every backend prints."""

from protodsl.plan.lower import check_plan, plan_of
from protodsl.plan.markers import Marker, markers
from protodsl.plan.model import (
    BuilderPlan,
    BuiltId,
    Check,
    Computed,
    DecodePlan,
    DerivedHeader,
    Discriminator,
    EncodePlan,
    FitCheck,
    Fixed,
    FramePlan,
    HeaderRecords,
    IntRun,
    LengthCheck,
    Measured,
    MustBeMember,
    MustEqual,
    MustMatchChecksum,
    ProtocolPlan,
    Read,
    RecordPlan,
    Recount,
    RestFraming,
    RestOfFrame,
    RolesPlan,
    Size,
    SizedFraming,
    SizeStep,
    Value,
    Write,
)

__all__ = [
    "BuilderPlan", "BuiltId", "Check", "Computed", "DecodePlan", "DerivedHeader",
    "Discriminator", "EncodePlan", "FitCheck", "Fixed", "FramePlan", "HeaderRecords", "IntRun",
    "LengthCheck", "Marker", "Measured",
    "MustBeMember", "MustEqual", "MustMatchChecksum", "ProtocolPlan", "Read", "RecordPlan",
    "Recount",
    "RestFraming", "RestOfFrame", "RolesPlan", "Size", "SizeStep", "SizedFraming", "Value",
    "Write", "check_plan", "markers", "plan_of",
]
