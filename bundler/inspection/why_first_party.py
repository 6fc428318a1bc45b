"""`bundle why` for first-party code loaded by name: a Django app, a resources anchor, a
settings module; where the code names it and what ships of it."""

from __future__ import annotations

from collections.abc import Sequence

from bundler.analysis.loaded_by_name import NameUse
from bundler.analysis.session import Analysis
from bundler.inspection.why_answers import (
    Explanation,
    FunctionWhy,
    Reason,
    Subject,
    names_first_party,
)
from bundler.inspection.why_chains import Chain


def explain_first_party(
    subject: Subject, analyses: Sequence[Analysis], function: str | None
) -> Explanation:
    """Each function that loads `subject` by name: where, and what ships of it."""
    answers = []
    for analysis in sorted(analyses, key=lambda a: a.function.name):
        name = analysis.function.name
        if function is not None and name != function:
            continue
        chains = []
        for named in analysis.scan.named:
            if names_first_party(named, subject.name):
                shipped = f"the module {named.module} ships"
                if named.package is not None:
                    shipped = (
                        f"the package {named.package.name}/ ships whole (its data files and "
                        "every module)"
                    )
                chains.append(
                    Chain(subject.name, f"{named.use.where} {_loads(named.use)}: {shipped}")
                )
        reason = Reason("not-imported", "not loaded by name by this function")
        answers.append(
            FunctionWhy(
                function=name, shipped=bool(chains), chains=tuple(chains), reasons=(reason,)
            )
        )
    shipped_by = tuple(a.function for a in answers if a.shipped)
    return Explanation(subject, tuple(answers), shipped_by)


def _loads(use: NameUse) -> str:
    return f"reads its files: {use.written}" if use.kind == "resources" else f"names {use.written}"
