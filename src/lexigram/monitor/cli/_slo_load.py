"""Reading an SLO spec file: its YAML documents, their one format, their SLOs."""

from __future__ import annotations

import os
from typing import Any

from ._input import InputError, read_yaml_documents
from ._slo_openslo import OPENSLO_VERSIONS, load_openslo
from ._slo_own import load_own
from ._slo_sloth import SLOTH_VERSION, load_sloth
from ._slo_spec import Document, SpecOptions, SpecSLO

__all__ = ["FORMATS", "detect_format", "load_spec"]

FORMATS = {
    "own": "our own SLO file (a 'slos:' list)",
    "sloth": f"Sloth (version: {SLOTH_VERSION})",
    "openslo": f"OpenSLO (apiVersion: {' or '.join(OPENSLO_VERSIONS)})",
}


def detect_format(doc: Document) -> str:
    """``own``, ``sloth`` or ``openslo`` for *doc*; :class:`InputError` for an unknown
    version or a document that mixes formats."""
    content: Any = doc.content
    if not isinstance(content, dict):
        return "own"  # load_own explains what a file must look like
    markers = [key for key in ("version", "apiVersion") if key in content]
    if len(markers) > 1:
        raise doc.error(
            "mixes formats: it has both 'version' (Sloth) and 'apiVersion' (OpenSLO) keys; "
            "put each spec in its own document or file"
        )
    if "version" in content:
        if content["version"] != SLOTH_VERSION:
            raise doc.error(
                f"field 'version' {content['version']!r} is not a known spec version; this "
                f"command reads Sloth's {SLOTH_VERSION!r} (OpenSLO uses 'apiVersion')"
            )
        return "sloth"
    if "apiVersion" in content:
        if content["apiVersion"] not in OPENSLO_VERSIONS:
            raise doc.error(
                f"field 'apiVersion' {content['apiVersion']!r} is not a known spec version; "
                f"this command reads OpenSLO {' and '.join(OPENSLO_VERSIONS)} (Sloth's own "
                f"format is 'version: {SLOTH_VERSION}')"
            )
        return "openslo"
    return "own"


def load_spec(file: str | os.PathLike[str], options: SpecOptions) -> list[SpecSLO]:
    """Every SLO of *file* (all of its documents, which must share one format)."""
    shown = os.fspath(file)
    contents = read_yaml_documents(file, "SLO file")
    if not contents:
        contents = [None]
    docs = [Document(shown, i, len(contents), c) for i, c in enumerate(contents)]
    formats = [detect_format(doc) for doc in docs]
    if len(set(formats)) > 1:
        first = formats[0]
        other = next(i for i, f in enumerate(formats) if f != first)
        raise InputError(
            f"{shown}: mixes formats: document 1 is {FORMATS[first]} but document "
            f"{other + 1} is {FORMATS[formats[other]]}; keep one format per file"
        )
    if formats[0] == "openslo":
        specs = load_openslo(docs, options)
    else:
        load = load_own if formats[0] == "own" else load_sloth
        specs = [spec for doc in docs for spec in load(doc, options)]
    names: dict[str, str] = {}
    for spec in specs:
        if spec.name in names:
            raise InputError(
                f"{spec.where}: SLO {spec.name!r} is defined twice (also {names[spec.name]}); "
                "SLO names must be unique in a rule file"
            )
        names[spec.name] = spec.where
    if not specs:
        raise InputError(f"{shown}: no SLO found (OpenSLO files need a 'kind: SLO' document)")
    return specs
