"""The frames the plugin makes itself (keepalive, its reply, a hijack reply), as
module functions: the builder's plan gives the request it answers and its
integer parameters; every free field is assigned, defaults included."""

from __future__ import annotations

from dataclasses import dataclass

from protodsl.codegen.python import naming
from protodsl.codegen.python.context import Module
from protodsl.codegen.python.expr import no_length, translate

from protodsl.ir import expr as ir
from protodsl.ir.model import BytesField, Frame
from protodsl.plan import BuilderPlan


@dataclass(frozen=True)
class BuilderView:
    kind: str  # the function's name
    signature: str
    cls: str
    args: list[str]  # keyword arguments of the frame class
    doc: str | None


def builder_view(module: Module, plan: BuilderPlan) -> BuilderView:
    b, frame = plan.builder, plan.frame.frame
    names = module.names(plan.frame)
    requests = " | ".join(module.classes[f.name] for f in module.plan.request_frames)

    def attr(f: str) -> str:
        """A field of the request frame the builder answers."""
        return naming.attribute(f, module.module_names)

    def param(p: str, f: str | None) -> str:
        return f"int({naming.snake(p)}.{attr(f)})" if f else naming.snake(p)

    args = []
    for name, value in b.assignments:
        node = frame.value(name)
        assert node is not None
        text = translate(value, no_length, no_length, param)
        # the frontend resolved the value as the field's enum: a member
        args.append(f"{names.attr[name]}={module.wrap(node, text, checked=True)}")
    built = plan.id_bytes
    if built is not None:
        view = built.view
        text = translate(built.value, no_length, no_length, param)
        args.append(f"{names.attr[built.field]}=_id_bytes({built.size}, {view.start}, "
                    f"{view.width}, {view.byte_order!r}, {text})")
    for name, data in b.data:
        args.append(f"{names.attr[name]}={_literal(frame, name, data)}")
    for name, sized in b.sized:
        if isinstance(sized, ir.ParamField):
            args.append(f"{names.attr[name]}={param(sized.param, None)}.{attr(sized.field)}")
            continue
        subject = translate(sized.subject, no_length, no_length, param)
        text = _literal(frame, name, sized.default)
        for key, data in reversed(sized.cases):
            text = f"{_literal(frame, name, data)} if {subject} == {key} else {text}"
        args.append(f"{names.attr[name]}={text}")
    params = []
    if plan.request is not None:
        params.append(f"{naming.snake(plan.request)}: {requests or 'Frame'}")
    params += [f"{naming.snake(p)}: int" for p in plan.integers]
    return BuilderView(b.kind, ", ".join(params), module.classes[frame.name], args, b.doc)


def _literal(frame: Frame, name: str, data: bytes) -> str:
    """A text field's literal is a str, a bytes field's bytes."""
    element = frame.element(name)
    return (repr(data.decode("utf-8")) if isinstance(element, BytesField) and element.text
            else repr(data))
