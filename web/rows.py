"""The long repeated rows of two pages, rendered in Python rather than by the template engine.

A score sheet has ~100 leaves, each a small accessible form (label, hint, error slot and
`aria-describedby` per field); the cycle overview has one row per case, 3,500 in a national
installation. Drawn by Django templates, the two pages were many times slower than a bare
view returning the same rows (bench/pages.py prints the ratios). Here each row is a few f-strings over escaped values, with every
translated word looked up once per page. The markup is the same contract the tests and
app.js rely on: ids `c-<code>-<field>`, errors in `data-error-for` slots.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import quote

from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from web import uploads
from web.frame import url_for

NUMBER = re.compile(r"\d+(?:\.\d+)+")


def _e(value: Any) -> str:
    """Escaped for HTML text and attribute values (the standard library's escape: Django's
    lazy-aware wrapper costs more than the escaping itself at thousands of calls a page)."""
    return "" if value is None else html.escape(str(value))


def escape_text(value: Any) -> str:
    """Escape a text for these rows (for callers outside this module)."""
    return _e(value)


def format_points(value: Any, separator: str) -> str:
    """Points as `par.pts` writes them (2,5 · 10 · —), the separator read once a page: digits,
    a sign, the separator or a dash, nothing HTML needs escaped."""
    if value is None or value == "":
        return "—"
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f").replace(".", separator)


@dataclass(frozen=True, eq=False)  # one per language (`now`): a key by identity
class SheetWords:
    """Every word a score row uses, translated and escaped once for the page."""

    max: str
    evidence_required: str
    not_scored: str
    self_score_points: str
    done: str
    choose: str
    yes: str
    no: str
    points: str
    level: str
    rate: str
    violations: str
    times: str
    points_label: str
    not_applicable: str
    does_not_apply: str
    na_reason: str
    note: str
    explanation: str
    save: str
    not_saved: str
    self_score: str
    from_survey: str
    not_applicable_value: str
    reason: str
    appraised_score: str
    note_value: str
    how_reached: str
    evidence: str
    no_evidence: str
    version: str
    withdrawn: str
    broken: str
    upload_label: str
    section_page: str
    upload: str
    upload_failed: str
    uploading: str
    withdraw: str
    withdraw_label: str
    relink: str
    relink_label: str
    one_point: str
    n_points: str
    guidance: str
    data_source: str
    areas: str
    scored_of: str
    separator: str

    def pts(self, value: Any) -> str:
        return format_points(value, self.separator)

    def figures(self, text: str) -> str:
        """A framework's own words with their decimals written as the page writes numbers
        ("trừ 0.5 điểm" → "trừ 0,5 điểm")."""
        return NUMBER.sub(
            lambda m: m[0] if m[0].count(".") > 1 else m[0].replace(".", self.separator), text
        )  # a code such as 1.2.3 keeps its dots

    def points_text(self, value: Any) -> str:
        """Points with their word: "1 điểm", "2,5 điểm" ("1 point", "2,5 points")."""
        if value is not None and value != "" and Decimal(str(value)) == 1:
            return self.one_point
        return self.n_points % {"n": self.pts(value)}

    def answer(self, criterion: Any, kind: str, value: Any) -> str:
        """The unit's declared answer in words (escaped): "Có", a level's name, "85%",
        "0 lần vi phạm"; empty where the unit typed points."""
        if value is None or value == "" or kind in ("points", "survey"):
            return ""
        number = Decimal(str(value))
        if kind == "yes_no":
            return self.yes if number else self.no
        if kind == "level":
            levels = (criterion.config or {}).get("levels", [])
            index = int(number)
            return _e(levels[index].get("label", "")) if 0 <= index < len(levels) else ""
        if kind == "rate":
            return f"{self.pts(number)}%"
        count = int(number)
        if criterion.method == "deduction":
            text = ngettext("%(n)s violation", "%(n)s violations", count)
        else:
            text = ngettext("%(n)s time", "%(n)s times", count)
        return _e(text % {"n": count})

    def self_score_text(self, criterion: Any, kind: str, points: Any, value: Any) -> str:
        """A self score as read back: the answer with its points ("Có (1 điểm)"), or the
        points alone where the unit typed them."""
        answer = self.answer(criterion, kind, value)
        if not answer:
            return self.pts(points)
        return f"{answer} ({self.points_text(points)})"

    def entry(self, value: Any) -> str:
        """A stored number as an input's value (decimal comma, empty when none); what the
        user typed, after a refusal, exactly as typed."""
        if value is None or value == "":
            return ""
        return _e(value) if isinstance(value, str) else self.pts(value)

    @classmethod
    def now(cls) -> SheetWords:
        """The words in the active language: translated once per language and process, as
        the catalogues they come from are loaded once (the appraisal page asks per row)."""
        return _words_in(get_language(), get_format("DECIMAL_SEPARATOR"))

    @staticmethod
    def _translated() -> dict[str, str]:
        return dict(
            max=_("max"),
            evidence_required=_("evidence required"),
            not_scored=_("not scored yet"),
            self_score_points=_("Self score (points)"),
            done=_("Done?"),
            choose=_("— choose —"),
            yes=_("Yes"),
            no=_("No"),
            points=_("points"),
            level=_("Level reached"),
            rate=_("Rate achieved (%%)").replace("%%", "%"),
            violations=_("Number of violations"),
            times=_("Number of times"),
            points_label=_("Points"),
            not_applicable=_("Not applicable"),
            does_not_apply=_("This criterion does not apply to our unit"),
            na_reason=_("Reason it does not apply"),
            note=_("Note (documents, section and page)"),
            explanation=_("How the score was reached, where evidence is missing"),
            save=_("Save"),
            not_saved=_("Not saved: the server could not be reached. Try again."),
            self_score=_("Self score"),
            from_survey=_("from the survey"),
            not_applicable_value=_("not applicable"),
            reason=_("Reason"),
            appraised_score=_("Appraised score"),
            note_value=_("Note"),
            how_reached=_("How the score was reached"),
            evidence=_("Evidence"),
            no_evidence=_("No evidence yet."),
            version=_("version"),
            withdrawn=_("withdrawn"),
            broken=_("missing or altered in the store"),
            upload_label=_("Add a document (PDF, Word, Excel, image)"),
            section_page=_("Section and page that apply"),
            upload=_("Upload"),
            upload_failed=_("Not uploaded: the server could not be reached. Try again."),
            uploading=_("Uploading…"),
            withdraw=_("Withdraw…"),
            withdraw_label=_("Withdraw version %(version)s of this evidence"),
            relink=_("Use for another criterion…"),
            relink_label=_("Use for another criterion: version %(version)s of this evidence"),
            one_point=_("1 point"),
            n_points=_("%(n)s points"),
            guidance=_("Guidance"),
            data_source=_("Data source"),
            areas=_("Areas"),
            scored_of=_("%(scored)s of %(total)s scored"),
        )


@cache
def _words_in(_language: str | None, separator: str) -> SheetWords:
    words = SheetWords._translated()
    return SheetWords(separator=separator, **{k: _e(v) for k, v in words.items()})


def _error(a: str, field: str, errors: dict[str, list[str]] | None, name: str) -> str:
    text = _e(" ".join(errors.get(name, []))) if errors else ""
    return f'<p class="field-error" id="{a}-{field}-error" data-error-for="{a}-{field}">{text}</p>'


def _option(value: str, label_html: str, current: str) -> str:
    """An option; its label is already HTML (escaped words and escaped data)."""
    selected = " selected" if value == current else ""
    return f'<option value="{_e(value)}"{selected}>{label_html}</option>'


def _entry(row: Any, w: SheetWords) -> str:
    c, a = row.criterion, row.anchor
    kind = row.kind
    current = w.entry(row.entry)
    described = f'aria-describedby="{a}-entry-error {a}-entry-hint"'
    if kind == "points":
        return (
            f'<label for="{a}-entry">{w.self_score_points}</label>'
            f'<div class="entry-line"><input type="text" inputmode="decimal" name="entry" '
            f'id="{a}-entry" value="{current}" autocomplete="off" {described}> '
            f'<span id="{a}-entry-hint" class="muted">/ {w.pts(c.max_points)}</span></div>'
        )
    if kind == "yes_no":
        options = (
            _option("", w.choose, current)
            + _option("1", f"{w.yes} ({w.points_text(c.max_points)})", current)
            + _option("0", f"{w.no} ({w.points_text(0)})", current)
        )
        return (
            f'<label for="{a}-entry">{w.done}</label><div class="entry-line">'
            f'<select name="entry" id="{a}-entry" aria-describedby="{a}-entry-error">'
            f"{options}</select></div>"
        )
    if kind == "level":
        options = _option("", w.choose, current) + "".join(
            _option(
                str(i),
                f"{_e(level.get('label', ''))} ({w.points_text(level.get('points'))})",
                current,
            )
            for i, level in enumerate((c.config or {}).get("levels", []))
        )
        return (
            f'<label for="{a}-entry">{w.level}</label><div class="entry-line">'
            f'<select name="entry" id="{a}-entry" aria-describedby="{a}-entry-error">'
            f"{options}</select></div>"
        )
    if kind == "rate":
        bands = " · ".join(
            f"≥ {w.pts(b.get('min'))}%: {w.points_text(b.get('points'))}"
            for b in (c.config or {}).get("thresholds", [])
        )
        return (
            f'<label for="{a}-entry">{w.rate}</label><div class="entry-line">'
            f'<input type="text" inputmode="decimal" name="entry" id="{a}-entry" '
            f'value="{current}" autocomplete="off" {described}> %</div>'
            f'<p class="hint" id="{a}-entry-hint">{bands}</p>'
        )
    label = w.violations if c.method == "deduction" else w.times
    return (
        f'<label for="{a}-entry">{label}</label><div class="entry-line">'
        f'<input type="text" inputmode="numeric" name="entry" id="{a}-entry" value="{current}" '
        f'autocomplete="off" {described}></div>'
        f'<p class="hint" id="{a}-entry-hint">{_e(w.figures((c.config or {}).get("rule", "")))}</p>'
    )


def _not_applicable(row: Any, w: SheetWords) -> str:
    a, errors = row.anchor, row.errors
    if row.posted is not None:
        checked = bool(row.posted.get("not_applicable"))
    else:
        checked = bool(row.score.not_applicable)
    return (
        f'<fieldset class="na"><legend>{w.not_applicable}</legend>'
        f'<div class="na-choice"><input type="checkbox" name="not_applicable" id="{a}-na" '
        f'value="on"{" checked" if checked else ""} aria-describedby="{a}-na-error"> '
        f'<label for="{a}-na">{w.does_not_apply}</label></div>'
        f"{_error(a, 'na', errors, 'not_applicable')}"
        f'<div class="field na-reason"><label for="{a}-na-reason">{w.na_reason}</label>'
        f'<textarea name="not_applicable_reason" id="{a}-na-reason" rows="2" '
        f'aria-describedby="{a}-na-reason-error">{_e(row.value_of("not_applicable_reason"))}'
        f"</textarea>{_error(a, 'na-reason', errors, 'not_applicable_reason')}</div></fieldset>"
    )


def _textarea(row: Any, field: str, name: str, label: str) -> str:
    """A labelled text area; `label` is an escaped word of SheetWords."""
    a = row.anchor
    return (
        f'<div class="field"><label for="{a}-{field}">{label}</label>'
        f'<textarea name="{name}" id="{a}-{field}" rows="2" aria-describedby="{a}-{field}-error">'
        f"{_e(row.value_of(name))}</textarea>{_error(a, field, row.errors, name)}</div>"
    )


def _form(row: Any, w: SheetWords, url: str, csrf: str) -> str:
    c, s, a = row.criterion, row.score, row.anchor
    row_errors = "".join(f"<p>{_e(e)}</p>" for e in (row.errors or {}).get("row", []))
    points = ""
    if row.kind != "points":
        points = (
            f'<p>{w.points_label}: <output class="points-out" id="{a}-points" '
            f'for="{a}-entry">{w.pts(s.self_score)}</output> / {w.pts(c.max_points)}</p>'
        )
    na = _not_applicable(row, w) if c.not_applicable_allowed else ""
    explanation = (
        _textarea(row, "explanation", "evidence_explanation", w.explanation)
        if c.evidence_required
        else ""
    )
    return (
        f'<form class="score-form" method="post" action="{url}#{a}" hx-post="{url}" '
        f'hx-trigger="change, submit" data-status="{a}-status">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
        f'<input type="hidden" name="version" id="{a}-version" value="{s.version}">'
        f'<div class="row-errors" id="{a}-errors" role="alert">{row_errors}</div>'
        f'<div class="entry">{_entry(row, w)}{_error(a, "entry", row.errors, "entry")}'
        f"{points}{na}</div>"
        f'<div class="notes">{_textarea(row, "note", "note", w.note)}{explanation}</div>'
        f'<div class="save-line"><button type="submit" class="small-button">{w.save}</button>'
        f'<span class="save-status" id="{a}-status" role="status"></span></div></form>'
    )


def _readonly(row: Any, w: SheetWords) -> str:
    c, s = row.criterion, row.score

    def item(term: str, value: str) -> str:
        return f"<div><dt>{term}</dt><dd>{value}</dd></div>"

    if c.is_survey:
        parts = [item(w.self_score, w.from_survey)]
    elif s.not_applicable:
        parts = [
            item(w.self_score, w.not_applicable_value),
            item(w.reason, _e(s.not_applicable_reason)),
        ]
    else:
        said = w.self_score_text(c, row.kind, s.self_score, s.value)
        parts = [item(w.self_score, said)]
    if s.appraised_round:
        parts.append(item(w.appraised_score, w.pts(s.appraised_score)))
    if s.note:
        parts.append(item(w.note_value, linebreaks_br(s.note)))
    if s.evidence_explanation:
        parts.append(item(w.how_reached, linebreaks_br(s.evidence_explanation)))
    return f'<dl class="readonly-score">{"".join(parts)}</dl>'


def linebreaks_br(text: str) -> str:
    return _e(text).replace("\n", "<br>")


@dataclass(frozen=True)
class SheetContext:
    """What every row of one page shares: words, the CSRF token, the URLs' stems."""

    words: SheetWords
    csrf: str
    save_base: str
    appraisal_url: str
    upload_url: str
    download_pattern: str
    withdraw_pattern: str = ""
    relink_pattern: str = ""
    back: str = "sheet"
    upload_limit: str = ""  # the upload form's size limit (web/uploads.py)

    @classmethod
    def for_page(cls, request: Any, case: Any, back: str = "sheet") -> SheetContext:
        return cls(
            words=SheetWords.now(),
            csrf=get_token(request),
            save_base=url_for("web:self-score", case.pk, "0")[:-2],
            appraisal_url=url_for("web:appraisal", case.pk),
            upload_url=url_for("web:upload", case.pk),
            download_pattern=url_for("evidence-download", DOC_PLACEHOLDER),
            withdraw_pattern=url_for("web:withdraw", DOC_PLACEHOLDER),
            relink_pattern=url_for("web:relink", DOC_PLACEHOLDER),
            back=back,
            upload_limit=uploads.limit_attributes("evidence"),
        )

    def upload_settings(self) -> str:
        """What every evidence upload form of the page says (its failure, that it is sending,
        its size limit), written once on an element around the forms rather than on each:
        app.js reads a form's setting from the closest element that carries it."""
        w = self.words
        return (
            f' data-upload-failed="{w.upload_failed}" data-sending="{w.uploading}"'
            f"{self.upload_limit}"
        )

    def download_url(self, document_id: int) -> str:
        return self.download_pattern.replace(str(DOC_PLACEHOLDER), str(document_id), 1)

    def withdraw_url(self, link_id: int) -> str:
        return self.withdraw_pattern.replace(str(DOC_PLACEHOLDER), str(link_id), 1)

    def relink_url(self, link_id: int) -> str:
        return self.relink_pattern.replace(str(DOC_PLACEHOLDER), str(link_id), 1)


DOC_PLACEHOLDER = 987654321


def file_size(size: int, separator: str) -> str:
    """1,2 MB · 340 KB · 12 B (decimal comma in Vietnamese)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", separator)


def _version_actions(item: Any, page: SheetContext, row: Any) -> str:
    """Withdraw a current version, or link its document to another criterion: each a page
    of its own (the confirmation step works without JavaScript)."""
    if not getattr(row, "may_withdraw", False) or not page.withdraw_pattern:
        return ""
    w, version = page.words, {"version": int(item.version)}  # the words are escaped already
    relink = ""
    if item.intact:  # a file missing from the store cannot become evidence again
        relink = (
            f' <a class="small-link" href="{page.relink_url(item.link_id)}" '
            f'aria-label="{w.relink_label % version}">{w.relink}</a>'
        )
    return (
        f'<span class="version-actions"> <a class="small-link" '
        f'href="{page.withdraw_url(item.link_id)}" '
        f'aria-label="{w.withdraw_label % version}">{w.withdraw}</a>{relink}</span>'
    )


def evidence_block(row: Any, page: SheetContext, *, status: str = "") -> str:
    """The versions of a criterion's evidence, with download links, and the upload form
    where this user may add one now."""
    w, a = page.words, row.anchor
    items = []
    for item in row.evidence:
        when = timezone.localtime(item.uploaded_at).strftime("%d/%m/%Y %H:%M")
        details = (
            f"{w.version} {item.version} · {file_size(item.size, w.separator)} · {when} · "
            f"{_e(item.uploader)}"
        )
        if item.note:
            details += f" · {_e(item.note)}"
        if item.withdrawn:
            items.append(
                f'<li class="withdrawn"><s>{_e(item.filename)}</s> <span class="versions">'
                f"{details} · {w.withdrawn}: {_e(item.withdraw_reason)}</span></li>"
            )
        elif not item.intact:
            items.append(
                f'<li class="broken">{_e(item.filename)} <span class="versions">{details} · '
                f"{w.broken}</span>{_version_actions(item, page, row)}</li>"
            )
        else:
            items.append(
                f'<li><a href="{page.download_url(item.document_id)}">{_e(item.filename)}</a> '
                f'<span class="versions">{details}</span>{_version_actions(item, page, row)}</li>'
            )
    listing = f"<ul>{''.join(items)}</ul>" if items else f'<p class="muted">{w.no_evidence}</p>'
    form = ""
    if row.may_add_evidence:
        error = _e(row.upload_error)
        invalid = ' aria-invalid="true"' if row.upload_error else ""
        url = f"{page.upload_url}?criterion={quote(row.criterion.code)}&amp;back={page.back}"
        form = (
            f'<form class="upload" method="post" enctype="multipart/form-data" action="{url}" '
            f'hx-post="{url}" hx-target="#{a}-evidence" hx-swap="outerHTML" data-upload '
            f'data-status="{a}-upload-status">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{page.csrf}">'
            f'<label for="{a}-file">{w.upload_label}</label>'
            f'<input type="file" name="file" id="{a}-file" aria-describedby="{a}-file-error"{invalid}>'
            f'<label for="{a}-file-note" class="visually-hidden">{w.section_page}</label>'
            f'<input type="text" name="note" id="{a}-file-note" placeholder="{w.section_page}">'
            f'<button type="submit" class="small-button">{w.upload}</button>'
            f'<progress hidden value="0" max="100" aria-label="{w.uploading}"></progress>'
            f'<span class="save-status" id="{a}-upload-status" role="status">{status}</span>'
            f'<p class="field-error" id="{a}-file-error" data-error-for="{a}-file">{error}</p>'
            f"</form>"
        )
    return (
        f'<div class="evidence" id="{a}-evidence"><p class="evidence-title">{w.evidence}</p>'
        f"{listing}{form}</div>"
    )


def row_forms(page: SheetContext) -> SafeString:
    """What the forms of the sheet's rows share, written once on the element around them:
    each score form's answer goes to its own status (htmx inherits the target; a form's
    default swap and its one-request-at-a-time queue need no attribute), and what app.js
    says when a save or an upload fails."""
    return mark_safe(
        f' hx-target="find .save-status" data-failed="{page.words.not_saved}"'
        f"{page.upload_settings()}"
    )  # the words are escaped already


def score_rows(rows: Iterable[Any], *, page: SheetContext, can_edit: bool) -> SafeString:
    """The leaves of one area of the score sheet (non-leaf rows are drawn as headings)."""
    w, csrf, save_base, appraisal_url = page.words, page.csrf, page.save_base, page.appraisal_url
    out = []
    for row in rows:
        c = row.criterion
        if row.score is None:
            out.append(
                f'<li class="node"><span class="code">{_e(c.code)}</span>{_e(c.title)} '
                f'<span class="muted">({w.max} {w.pts(c.max_points)})</span></li>'
            )
            continue
        leaf = _leaf_text(row, w)
        a = leaf.anchor
        if can_edit and row.self_scored:
            whole = leaf.editable_row(row, page)
            if whole is not None:
                out.append(whole)
                continue
            body = leaf.form(row, save_base, csrf) if leaf.plain(row) else None
            if body is None:
                body = _form(row, w, f"{save_base}{leaf.code}/", csrf)
        else:
            body = _readonly(row, w)
        extra = ""
        if row.evidence or row.may_add_evidence:
            extra = leaf.upload(row, page) or evidence_block(row, page)
        questions = ""
        if row.questions:
            n = len(row.questions)
            text = ngettext(
                "%(n)s question from the appraisal council",
                "%(n)s questions from the appraisal council",
                n,
            ) % {"n": n}
            questions = f'<p class="small"><a href="{appraisal_url}#{a}">{_e(text)}</a></p>'
        head = leaf.head_missing if row.missing else leaf.head
        out.append(f"{head}{body}{extra}{questions}</li>")
    return mark_safe("".join(out))  # every value above is escaped


# Stand-ins for a row's own values, where the parts of a leaf's row kept once are cut apart.
_SLOT = "\ue000{}\ue001"
_SLOTS = re.compile("\ue000([a-z_]+)\ue001")


class _Cut:
    """HTML written with stand-ins, cut where they stood: filled with each row's values.
    (Joining the pieces cost a tenth of what `str.format_map` on the same text did.)"""

    def __init__(self, html: str) -> None:
        parts = _SLOTS.split(html)
        self.first = parts[0]
        self.then = tuple(zip(parts[1::2], parts[2::2], strict=True))  # (stand-in, text after)
        self.names = frozenset(parts[1::2])

    def fill(self, values: dict[str, str]) -> str:
        out = [self.first]
        for name, text in self.then:
            out.append(values[name])
            out.append(text)
        return "".join(out)


class _Blank:
    """A row whose own values are stand-ins, for `_form` and `evidence_block` to write the
    parts of a leaf's row that are the same for every case."""

    def __init__(self, criterion: Any, anchor: str, kind: str, not_applicable: bool) -> None:
        self.criterion, self.anchor, self.kind = criterion, anchor, kind
        self.score = _BlankScore(not_applicable)
        self.errors = self.posted = None
        self.entry = _SLOT.format("entry")
        self.evidence: list[Any] = []
        self.may_add_evidence, self.upload_error = True, ""

    def value_of(self, name: str) -> str:
        return _SLOT.format(name)


class _BlankScore:
    version = _SLOT.format("version")
    self_score = None  # written by its own stand-in below

    def __init__(self, not_applicable: bool) -> None:
        self.not_applicable = not_applicable


class _LeafText:
    """What a leaf's row writes that depends on its criterion and the page's words alone,
    written once per criterion and language: the process keeps a frozen criteria set's
    criteria, and a sheet wrote the same hundred headings, hints and forms on every load.
    A row with a refusal to show, or a choice among options, is written in full."""

    def __init__(self, row: Any, w: SheetWords) -> None:
        c, a, kind = row.criterion, row.anchor, row.kind
        code = self.code = _e(c.code)
        self.anchor, self.words = a, w
        tags = f'<span class="tag">{w.max} {w.pts(c.max_points)}</span>'
        if c.evidence_required:
            tags += f'<span class="tag tag-evidence">{w.evidence_required}</span>'
        opened = f'" id="{a}"><div class="leaf-head"><span class="code">{code}</span>'
        opened += f'<span class="leaf-title" id="{a}-title">{_e(c.title)}</span>{tags}'
        depth = f'<li class="leaf depth-{c.depth}'
        missing_tag = f'<span class="tag tag-missing" id="{a}-missing"'
        closing = f">{w.not_scored}</span></div>{_guidance(c, w, a)}"
        if row.self_scored:
            self.head = f"{depth}{opened}{missing_tag} hidden{closing}"
        else:
            self.head = f"{depth}{opened}</div>{_guidance(c, w, a)}"
        self.head_missing = f"{depth} is-missing{opened}{missing_tag}{closing}"
        self.points = kind != "points"
        self.form_html: dict[bool, str | None] = {}
        self.forms: dict[bool, _Cut | None] = {}
        for checked in (False, True):
            html = _form(_Blank(c, a, kind, checked), w, _SLOT.format("url"), _SLOT.format("csrf"))
            if self.points:  # the points a declared figure gives, where they are shown
                html = html.replace(
                    f'for="{a}-entry">{w.pts(None)}</output>',
                    f'for="{a}-entry">{_SLOT.format("points")}</output>',
                )
            form = _Cut(html)
            # A choice among options marks the chosen one: such a form is written in full.
            self.form_html[checked] = html if "entry" in form.names else None
            self.forms[checked] = form if "entry" in form.names else None
        self.reason, self.explanation = c.not_applicable_allowed, c.evidence_required
        self.uploads: dict[str, _Cut] = {}
        self.rows: dict[tuple[bool, bool, bool, str], _Cut | None] = {}

    def plain(self, row: Any) -> bool:
        return row.errors is None and row.posted is None

    def _values(self, row: Any, save_base: str, csrf: str) -> dict[str, str]:
        """A plain row's own values for the stand-ins of its form."""
        w, score = self.words, row.score
        values = {
            "url": f"{save_base}{self.code}/",
            "csrf": csrf,
            "version": str(score.version),
            "entry": w.entry(row.entry),
            "note": _e(score.note),
        }
        if self.points:
            values["points"] = w.pts(score.self_score)
        if self.reason:
            values["not_applicable_reason"] = _e(score.not_applicable_reason)
        if self.explanation:
            values["evidence_explanation"] = _e(score.evidence_explanation)
        return values

    def form(self, row: Any, save_base: str, csrf: str) -> str | None:
        s = row.score
        form = self.forms[bool(s.not_applicable)]
        if form is None:
            return None
        return form.fill(self._values(row, save_base, csrf))

    def editable_row(self, row: Any, page: SheetContext) -> str | None:
        """The whole row of a leaf the user scores now, in one fill: its heading, its form
        and, while it has no evidence, the upload form. None for a row with more of its
        own (evidence, questions, a refusal to show, a choice among options)."""
        if row.evidence or row.questions or row.upload_error or not self.plain(row):
            return None
        s = row.score
        key = (bool(s.not_applicable), row.missing, row.may_add_evidence, page.back)
        if key not in self.rows:
            self.rows[key] = self._row_cut(row.criterion, *key)
        cut = self.rows[key]
        if cut is None:
            return None
        values = self._values(row, page.save_base, page.csrf)
        values["upload_url"] = page.upload_url
        return cut.fill(values)

    def _row_cut(
        self, criterion: Any, checked: bool, missing: bool, upload: bool, back: str
    ) -> _Cut | None:
        form = self.form_html[checked]
        if form is None:
            return None
        head = self.head_missing if missing else self.head
        block = self._upload_html(criterion, back, "upload_url") if upload else ""
        return _Cut(f"{head}{form}{block}</li>")

    def _upload_html(self, criterion: Any, back: str, url: str) -> str:
        """The evidence block of a row with no evidence yet, its CSRF token and the upload
        URL (`url`) stand-ins."""
        blank = _Blank(criterion, self.anchor, "", False)
        stand_in = SheetContext(
            words=self.words,
            csrf=_SLOT.format("csrf"),
            save_base="",
            appraisal_url="",
            upload_url=_SLOT.format(url),
            download_pattern="",
            back=back,
        )
        return evidence_block(blank, stand_in)

    def upload(self, row: Any, page: SheetContext) -> str:
        """The evidence block of a row with no evidence yet, where the user may add some;
        empty for any other row."""
        if row.evidence or not row.may_add_evidence or row.upload_error:
            return ""
        block = self.uploads.get(page.back)
        if block is None:
            block = self.uploads[page.back] = _Cut(
                self._upload_html(row.criterion, page.back, "url")
            )
        return block.fill({"url": page.upload_url, "csrf": page.csrf})


def _leaf_text(row: Any, w: SheetWords) -> _LeafText:
    """The `_LeafText` of the row's criterion in these words, kept on the criterion itself."""
    kept: dict[SheetWords, _LeafText] | None = row.criterion.__dict__.get("_leaf_text")
    if kept is None:
        kept = row.criterion.__dict__["_leaf_text"] = {}
    text = kept.get(w)
    if text is None:
        text = kept[w] = _LeafText(row, w)
    return text


def area_nav(blocks: Iterable[Any], words: SheetWords) -> SafeString:
    """The sheet's list of links to its areas (titles cut at 40 characters, as the template's
    `truncatechars:40` cut them)."""
    links = " · ".join(
        f'<a href="#{b.anchor}">{_e(b.area.code)}. {_e(Truncator(b.area.title).chars(40))}</a>'
        for b in blocks
    )
    return mark_safe(
        f'<nav aria-label="{words.areas}" class="card small">\n'
        f"  <strong>{words.areas}:</strong>\n  {links}\n</nav>"
    )  # every value above is escaped


def area_sections(blocks: Iterable[Any], *, page: SheetContext, can_edit: bool) -> SafeString:
    """Every area of the score sheet: its heading, its maximum, its progress and its rows."""
    w, out = page.words, []
    for b in blocks:
        a, area = b.anchor, b.area
        progress = ""
        if b.total:
            done = "area-complete" if b.complete else ""
            scored = w.scored_of % {"scored": b.scored, "total": b.total}
            progress = f'· <span id="{b.progress_id}" class="{done}">{scored}</span>'
        out.append(
            f'\n<section class="area" id="{a}" aria-labelledby="{a}-title">\n  <header>\n'
            f'    <h2 id="{a}-title">{_e(area.code)}. {_e(area.title)}</h2>\n'
            f"    <span>{w.max} {w.pts(area.max_points)}\n      {progress}</span>\n"
            f'  </header>\n  <ul class="rows">{score_rows(b.rows, page=page, can_edit=can_edit)}'
            f"</ul>\n</section>\n"
        )
    return mark_safe("".join(out))  # every value above is escaped


def _guidance(c: Any, w: SheetWords, a: str) -> str:
    """What the criteria set tells units about the criterion: what counts as evidence, where
    the figure comes from."""
    parts = []
    if c.guidance:
        parts.append(f"<strong>{w.guidance}:</strong> {linebreaks_br(c.guidance)}")
    if c.data_source:
        parts.append(f"<strong>{w.data_source}:</strong> {_e(c.data_source)}")
    if not parts:
        return ""
    return f'<p class="hint guidance" id="{a}-guidance">{"<br>".join(parts)}</p>'


def overview_rows(rows: Iterable[Any], selectable: bool = False) -> SafeString:
    """The cycle overview's table body: one line per case (with a box to select it for a
    step on many cases, for those who may run one)."""
    late, extended = _e(_("late")), _e(_("extended"))
    choose = _e(_("Select"))
    case_base = reverse("web:case", args=[0])[:-2]
    out = []
    for r in rows:
        pick = (
            f'<td><input type="checkbox" name="case" value="{r.case_id}" form="bulk" '
            f'id="pick-{r.case_id}" aria-label="{choose} {_e(r.unit_code)} – {_e(r.unit_name)}">'
            "</td>"
            if selectable
            else ""
        )
        late_flag = f' <span class="late-flag">{late}</span>' if r.is_late else ""
        ext = f' <span class="tag">{extended}</span>' if r.extended else ""
        submitted = (
            date_format(timezone.localtime(r.submitted_at), "SHORT_DATETIME_FORMAT")
            if r.submitted_at
            else ""
        )
        out.append(
            f'<tr>{pick}<th scope="row"><a href="{case_base}{r.case_id}/">{_e(r.unit_code)} – '
            f"{_e(r.unit_name)}</a></th><td>{_e(r.group)}</td>"
            f'<td><span class="state state-{r.state}">{_e(r.state_label)}</span>{late_flag}</td>'
            f'<td class="num">{r.scored}/{r.total}</td><td class="num">{r.appraised}/{r.total}</td>'
            f"<td>{date_format(r.self_due, 'SHORT_DATE_FORMAT')}{ext}</td><td>{submitted}</td></tr>"
        )
    return mark_safe("".join(out))  # every value above is escaped
