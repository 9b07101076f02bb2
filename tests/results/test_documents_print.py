"""Every generated document printed as an official would print it: LibreOffice converts it to
PDF (one conversion run for all of them: each start costs seconds), poppler reads the pages
and the text back, and a picture of each first page is kept in test-artifacts/documents/.

The province has twenty departments, as the results table an official prints does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from cases import permissions
from cases.models import Case, Criterion, RankingExclusion, Score, Unit
from tests.helpers import api
from tests.results.province import finalise_all, put_scores
from workflow import cycle_services

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "documents"
SOFFICE = shutil.which("soffice")

pytestmark = pytest.mark.skipif(
    SOFFICE is None or shutil.which("pdftotext") is None,
    reason="LibreOffice and poppler are installed by scripts/ensure-system-packages.sh",
)


def _more_departments(p: SimpleNamespace) -> None:
    """Fifteen more departments (S6 … S20), scored 60 to 88 points."""
    table = {}
    leaves = list(
        Criterion.objects.filter(framework__cycle=p.cycle, framework__unit_group=p.so, is_leaf=True)
    )
    for n in range(6, 21):
        unit = Unit.objects.create(code=f"S{n}", name=f"Sở Thử nghiệm số {n}", group=p.so)
        case = Case.objects.create(cycle=p.cycle, unit=unit)
        Score.objects.bulk_create(Score(case=case, criterion=c) for c in leaves)
        a = 10 + n % 8
        table[unit.code] = {
            "1.1": (a, a),
            "1.2": (8, 8),
            "1.3": 8,
            "2.1": (20 + n % 9, 20 + n % 9),
            "2.2": (10, 10),
            "2.3": 12,
        }
    permissions.sync_case_permissions(Case.objects.filter(cycle=p.cycle))
    put_scores(p.cycle, table, p.appraiser)


def _convert(files: dict[str, bytes], folder: Path) -> dict[str, Path]:
    """One LibreOffice run converts every file; its profile in its own HOME."""
    assert SOFFICE is not None  # the module is skipped without it
    home = folder / "home"
    home.mkdir()
    paths = []
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content)
        paths.append(str(path))
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(folder)}
    subprocess.run(
        [
            SOFFICE,
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            *paths,
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=240,
    )
    return {name: folder / (Path(name).stem + ".pdf") for name in files}


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    line = next(x for x in info.stdout.splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def _text(pdf: Path) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(out.stdout.split())  # one space between words, whatever the layout


def _fonts(pdf: Path) -> str:
    return subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout


def _picture(pdf: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "60",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ARTIFACTS / pdf.stem),
        ],
        check=True,
    )


@pytest.fixture
def printed(scored: SimpleNamespace, tmp_path: Path) -> dict[str, Any]:
    p = scored
    _more_departments(p)
    RankingExclusion.objects.create(
        case=p.cases["S5"],
        reason="Tài liệu kiểm chứng không trung thực",
        decided_by=p.leader,
        decided_at=timezone.now(),
    )
    finalise_all(p.cycle)
    appraisal = api(p.secretariat).get(f"/api/v1/cycles/{p.cycle.pk}/appraisal-report.docx")
    cycle_services.submit_results(p.cycle.pk, actor=p.secretariat)
    cycle_services.publish_cycle(
        p.cycle.pk, actor=p.leader, decision_number="45/QĐ-UBND", decision_date=date(2026, 4, 20)
    )
    public, leader = api(None), api(p.leader)
    base = f"/api/v1/cycles/{p.cycle.pk}"
    responses = {
        "ket-qua.xlsx": public.get(f"{base}/results.xlsx"),
        "phu-luc-word.docx": public.get(f"{base}/results-annex.docx"),
        "phu-luc-excel.xlsx": public.get(f"{base}/results-annex.xlsx"),
        "bao-cao-tham-dinh.docx": appraisal,
        "bao-cao-tu-danh-gia.docx": leader.get(f"/api/v1/cases/{p.cases['S1'].pk}/report.docx"),
        "de-xuat-khen-thuong.xlsx": leader.get(f"{base}/rewards.xlsx"),
        "de-xuat-khen-thuong-word.docx": leader.get(f"{base}/rewards.docx"),
    }
    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 200)
    pdfs = _convert({name: r.content for name, r in responses.items()}, tmp_path)
    for pdf in pdfs.values():
        _picture(pdf)
    return {name: (_pages(pdf), _text(pdf), _fonts(pdf)) for name, pdf in pdfs.items()}


def test_every_document_prints_on_few_pages_with_its_figures_and_diacritics(
    printed: dict[str, Any],
) -> None:
    pages = {name: found[0] for name, found in printed.items()}
    assert pages == {
        "ket-qua.xlsx": 2,  # one page per unit group: 20 departments, 3 communes
        "phu-luc-word.docx": 2,
        "phu-luc-excel.xlsx": 2,  # one page per sheet: 19 ranked and the one not ranked
        "bao-cao-tham-dinh.docx": pages["bao-cao-tham-dinh.docx"],
        "bao-cao-tu-danh-gia.docx": 1,  # the test framework: 7 criteria
        "de-xuat-khen-thuong.xlsx": 1,
        "de-xuat-khen-thuong-word.docx": 1,
    }
    assert 4 <= pages["bao-cao-tham-dinh.docx"] <= 12  # 23 units, a few lines each

    results = printed["ket-qua.xlsx"][1]
    assert "KẾT QUẢ CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM 2025" in results
    assert "1 S1 Sở Tư pháp 39,00 55,00 0,00 94,00 94,00 Nhóm A (tốt)" in results
    assert "Sở Thử nghiệm số 20" in results and "Phường Bắc Sơn" in results

    annex = printed["phu-luc-word.docx"][1]
    assert "PHỤ LỤC" in annex and "Kèm theo Quyết định số 45/QĐ-UBND ngày 20/04/2026" in annex
    assert "1 Sở Tư pháp 39,00 55,00 27,00 94,00 94,00 A" in annex
    assert "Sở Công Thương Tài liệu kiểm chứng không trung thực" in annex
    assert "99,00" not in annex
    # not ranked: the part's title and its units in the group's table, not a table apart
    assert "D (yếu) Đơn vị không xếp hạng Sở Công Thương" in annex
    sheets = printed["phu-luc-excel.xlsx"][1]
    assert "D (yếu) Đơn vị không xếp hạng Sở Công Thương Tài liệu kiểm chứng" in sheets

    report = printed["bao-cao-tham-dinh.docx"][1]
    for words in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "SỞ NỘI VỤ",
        "Kính gửi: Chủ tịch Hội đồng thẩm định Chỉ số cải cách hành chính",
        "Sở Xây dựng (S4)",
        "V. ĐỀ XUẤT XẾP HẠNG",
    ):
        assert words in report

    own = printed["bao-cao-tu-danh-gia.docx"][1]
    assert "BÁO CÁO" in own and "Kết quả tự đánh giá, chấm điểm Chỉ số cải cách hành chính" in own
    assert "Tổng điểm tự chấm 67,00" in own
    assert "THỦ TRƯỞNG ĐƠN VỊ" in own

    rewards = printed["de-xuat-khen-thuong.xlsx"][1]
    assert "ĐỀ XUẤT THI ĐUA, KHEN THƯỞNG" in rewards and "Xã An Phú" in rewards
    letter = printed["de-xuat-khen-thuong-word.docx"][1]
    assert "DANH SÁCH ĐỀ XUẤT THI ĐUA, KHEN THƯỞNG" in letter
    assert "1 1 Sở Tư pháp 94,00 94,00 A (tốt) nhóm A; hạng 1" in letter

    for name, (_count, _words, fonts) in printed.items():
        # Times New Roman printed as its metric twin, not through a fallback without glyphs
        assert "LiberationSerif" in fonts, name
        assert "DejaVu" not in fonts, name
