"""The blind scoring form: one radio group per competency, on its rubric scale."""

from __future__ import annotations

from typing import Any

from django import forms

from governance.calibration.services import competency_scale
from interviews.models import Competency


class BlindScoreForm(forms.Form):
    """Fields ``competency_<id>``; each choice is a rubric level with its anchor text, if any."""

    started = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, competencies: list[Competency], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.competencies = competencies
        for competency in competencies:
            anchors = {str(k).strip(): v for k, v in (competency.rubric_anchors or {}).items()}
            choices = [
                (str(level), f"{level}: {anchors[str(level)]}" if str(level) in anchors else level)
                for level in competency_scale(competency)
            ]
            self.fields[f"competency_{competency.pk}"] = forms.TypedChoiceField(
                label=competency.name,
                choices=choices,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": f"Score {competency.name}."},
            )

    def competency_fields(self) -> list[tuple[Competency, forms.BoundField]]:
        return [(c, self[f"competency_{c.pk}"]) for c in self.competencies]

    def scores(self) -> dict[int, int]:
        return {c.pk: self.cleaned_data[f"competency_{c.pk}"] for c in self.competencies}
