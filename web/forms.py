"""Forms of the pages: they read what was typed and put each error next to its field.

The rules stay in the services and in `cases.scoring`: a form only asks the same pure
functions the service will ask, so that a wrong figure is shown beside the field it came
from; the service call that follows remains the authority and may still refuse.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.errors import InvalidInput
from cases.models import Criterion
from cases.scoring import appraisal_needs_reason, check_points, resolve_self_score, to_decimal
from deadlines.calendar import not_a_date, parse_day
from deadlines.models import CalendarOverride, Extension
from notifications.models import NotificationSettings
from web.pages import entry_kind
from workflow.services import NOT_GIVEN, AppraisedScoreChange, SelfScoreChange

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def field_errors(form: forms.Form) -> dict[str, list[str]]:
    """Errors by field name; those of the whole row under "row" (templates cannot read
    Django's "__all__")."""
    return {
        ("row" if name == NON_FIELD_ERRORS else name): [str(e) for e in errors]
        for name, errors in form.errors.items()
    }


class SelfScoreForm(forms.Form):
    """One leaf of the score sheet: the score (or the figure it is computed from) and notes."""

    entry = forms.CharField(required=False, max_length=32)
    note = forms.CharField(required=False, widget=forms.Textarea)
    evidence_explanation = forms.CharField(required=False, widget=forms.Textarea)
    not_applicable = forms.BooleanField(required=False)
    not_applicable_reason = forms.CharField(required=False, widget=forms.Textarea)
    version = forms.IntegerField(required=False)

    def __init__(self, *args: Any, criterion: Criterion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.criterion = criterion

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        code = self.criterion.code
        if data.get("not_applicable"):
            if not self.criterion.not_applicable_allowed:
                self.add_error(
                    "not_applicable",
                    _("Criterion %(code)s cannot be marked not applicable.") % {"code": code},
                )
            elif not (data.get("not_applicable_reason") or "").strip():
                self.add_error(
                    "not_applicable_reason",
                    _("Criterion %(code)s: give the reason it does not apply.") % {"code": code},
                )
        elif (data.get("entry") or "").strip():
            try:
                resolve_self_score(self.criterion, **self._entry_argument(data["entry"]))
            except InvalidInput as error:
                self.add_error("entry", str(error.message))
        return data

    def _entry_argument(self, raw: str) -> dict[str, Any]:
        if entry_kind(self.criterion) == "points":
            return {"points": raw.strip()}
        return {"value": raw.strip()}

    def change(self) -> SelfScoreChange:
        """What `workflow.services.set_self_score` takes: the note always; the explanation
        where evidence is required; the reason, or the entry as typed, by the box ticked."""
        data = self.cleaned_data
        not_applicable = bool(data.get("not_applicable"))
        entry = "" if not_applicable else (data.get("entry") or "").strip()
        by_points = entry_kind(self.criterion) == "points"
        return SelfScoreChange(
            self_score=entry if entry and by_points else None,
            value=entry if entry and not by_points else None,
            not_applicable=not_applicable,
            not_applicable_reason=(
                data.get("not_applicable_reason", "") if not_applicable else NOT_GIVEN
            ),
            note=data.get("note", ""),
            evidence_explanation=(
                data.get("evidence_explanation", "")
                if self.criterion.evidence_required
                else NOT_GIVEN
            ),
            version=data.get("version"),
        )

    def field_errors(self) -> dict[str, list[str]]:
        return field_errors(self)


class AppraisalForm(forms.Form):
    """An appraiser's score of one leaf in the current round, with the reason for a change;
    on a leaf the unit declared not applicable, the appraiser's agreement or not first."""

    na_decision = forms.ChoiceField(
        required=False, choices=[("", ""), ("confirm", "confirm"), ("reject", "reject")]
    )
    appraised_score = forms.CharField(required=False, max_length=32)
    comment = forms.CharField(required=False, widget=forms.Textarea)
    version = forms.IntegerField(required=False)

    def __init__(
        self,
        *args: Any,
        criterion: Criterion,
        self_score: Decimal | None,
        na_claimed: bool = False,
        proposed: Decimal | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.criterion = criterion
        self.self_score = self_score
        self.na_claimed = na_claimed
        self.proposed = proposed

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.na_claimed:
            return self._clean_decision(data)
        try:
            points = check_points(
                self.criterion,
                to_decimal(data.get("appraised_score"), self.criterion, _("the score")),
            )
        except InvalidInput as error:
            self.add_error("appraised_score", str(error.message))
            return data
        if (
            appraisal_needs_reason(points, self.self_score, self.proposed)
            and not (data.get("comment") or "").strip()
        ):
            self.add_error(
                "comment",
                _(
                    "Criterion %(code)s: the appraised score differs from the self score; "
                    "give the reason in the comment."
                )
                % {"code": self.criterion.code},
            )
        return data

    def _clean_decision(self, data: dict[str, Any]) -> dict[str, Any]:
        code = self.criterion.code
        decision = data.get("na_decision")
        if not decision:
            self.add_error(
                "na_decision",
                _("Criterion %(code)s: say whether you agree that it does not apply.")
                % {"code": code},
            )
        elif decision == "reject":
            if not (data.get("comment") or "").strip():
                self.add_error(
                    "comment",
                    _(
                        "Criterion %(code)s: give the reason the unit's “not applicable” "
                        "is rejected."
                    )
                    % {"code": code},
                )
            if not (data.get("appraised_score") or "").strip():
                self.add_error(
                    "appraised_score",
                    _("Criterion %(code)s: enter the appraised score it gets instead.")
                    % {"code": code},
                )
            else:
                try:
                    check_points(
                        self.criterion,
                        to_decimal(data.get("appraised_score"), self.criterion, _("the score")),
                    )
                except InvalidInput as error:
                    self.add_error("appraised_score", str(error.message))
        return data

    @property
    def decision(self) -> str:
        """ "confirm" or "reject" on a leaf declared not applicable; "" otherwise."""
        return str(self.cleaned_data.get("na_decision") or "") if self.na_claimed else ""

    def change(self) -> AppraisedScoreChange:
        """What `workflow.services.set_appraised_score` takes (and, for a decision on a
        "not applicable", what `decide_not_applicable` reads of it)."""
        data = self.cleaned_data
        return AppraisedScoreChange(
            appraised_score=data.get("appraised_score"),
            comment=data.get("comment", ""),
            version=data.get("version"),
        )

    def field_errors(self) -> dict[str, list[str]]:
        return field_errors(self)


class QuestionForm(forms.Form):
    criterion = forms.CharField(max_length=32)
    question = forms.CharField(
        widget=forms.Textarea,
        error_messages={"required": gettext_lazy("Write the question.")},
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(
        widget=forms.Textarea,
        error_messages={"required": gettext_lazy("Write the answer.")},
    )


class PublishForm(forms.Form):
    decision_number = forms.CharField(
        label=gettext_lazy("Decision number"),
        max_length=64,
        error_messages={"required": gettext_lazy("Give the number of the approval decision.")},
    )
    decision_date = forms.DateField(
        label=gettext_lazy("Decision date (dd/mm/yyyy)"),
        error_messages={
            "required": gettext_lazy("Give the date of the approval decision."),
            "invalid": gettext_lazy("Write the date as dd/mm/yyyy."),
        },
    )
    signer = forms.CharField(label=gettext_lazy("Signed by"), max_length=200, required=False)


class ExtensionForm(forms.Form):
    """The secretariat gives one unit a later deadline (gia hạn)."""

    kind = forms.TypedChoiceField(
        label=gettext_lazy("Deadline to extend"),
        choices=Extension.Kind.choices,
        coerce=Extension.Kind,
    )
    due_date = forms.DateField(
        label=gettext_lazy("New deadline (dd/mm/yyyy)"),
        error_messages={
            "required": gettext_lazy("Give the new deadline."),
            "invalid": gettext_lazy("Write the date as dd/mm/yyyy."),
        },
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea,
        error_messages={"required": gettext_lazy("Give the reason for the extension.")},
    )


class DayField(forms.Field):
    """A date typed dd/mm/yyyy (or yyyy-mm-dd), read as the deadlines read it; the refusal
    names the field (`what`) and repeats what was typed."""

    def __init__(self, *, what: StrOrPromise, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.what = what

    def to_python(self, value: Any) -> date:
        day = parse_day(value)
        if day is None:
            raise forms.ValidationError(not_a_date(value or "", self.what))
        return day


class CalendarDayForm(forms.Form):
    """A day off or make-up working day the secretariat adds; the reason is the service's
    to require."""

    day = DayField(what=gettext_lazy("Date"))
    kind = forms.TypedChoiceField(
        choices=CalendarOverride.Kind.choices,
        coerce=CalendarOverride.Kind,
        error_messages={
            "required": gettext_lazy("Say what the day becomes: “day_off” or “working_day”."),
            "invalid_choice": gettext_lazy("Say what the day becomes: “day_off” or “working_day”."),
        },
    )
    reason = forms.CharField(required=False)


class NotificationSettingsForm(forms.Form):
    """The language of a user's notifications; the e-mail boxes are read by the kinds the
    page lists."""

    language = forms.TypedChoiceField(
        choices=NotificationSettings.Language.choices,
        coerce=NotificationSettings.Language,
        required=False,
        empty_value=None,
        error_messages={
            "invalid_choice": gettext_lazy("Unknown language “%(value)s”: use vi or en.")
        },
    )
