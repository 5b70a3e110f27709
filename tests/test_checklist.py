"""xraylib.checklist: every REFORMS and CLAIM item points somewhere that exists, or says why not."""
from __future__ import annotations

import nbformat

from xraylib import checklist
from xraylib.config import project_root


def test_reforms_has_32_items_and_claim_42():
    assert len(checklist.REFORMS) == 32 and len(checklist.CLAIM) == 42
    assert [it.number for it in checklist.CLAIM] == [str(i) for i in range(1, 43)]
    per_module = {m: sum(it.number.startswith(str(m)) for it in checklist.REFORMS) for m in range(1, 9)}
    assert per_module == {1: 3, 2: 5, 3: 7, 4: 3, 5: 6, 6: 3, 7: 3, 8: 2}  # Table 1 of the article
    assert all(it.number[1:] == "abcdefg"[k] for m in range(1, 9)
               for k, it in enumerate(i for i in checklist.REFORMS if i.number.startswith(str(m))))


def test_every_checklist_target_exists_in_the_book():
    assert checklist.missing_targets() == []


def test_a_missing_label_or_chapter_is_reported(tmp_path, monkeypatch):
    (tmp_path / "chapters").mkdir()
    nb = nbformat.v4.new_notebook()
    nbformat.write(nb, tmp_path / "intro.ipynb")
    missing = checklist.missing_targets(tmp_path)
    assert any("label (data-flow)=" in m for m in missing)
    assert any("chapters/05_results.ipynb" in m for m in missing)


def test_the_appendix_holds_exactly_the_generated_tables():
    nb = nbformat.read(project_root() / "chapters" / "13_checklist.ipynb", as_version=4)
    cell = [c for c in nb.cells if c.get("id") == "c13-items"][0]
    assert cell.source == checklist.markdown()


def test_the_markdown_links_every_item_with_a_target():
    text = checklist.markdown()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| item ")]
    assert len(rows) == len(checklist.REFORMS) + len(checklist.CLAIM)
    assert all(line.rstrip().endswith("|") and not line.rstrip().endswith("|  |") for line in rows)
    assert "{ref}`data-flow`" in text and "{doc}`05_results`" in text


def test_coverage_counts_every_item_once():
    table = checklist.coverage()
    assert table.loc["REFORMS"].sum() == 32 and table.loc["CLAIM"].sum() == 42
    assert table.loc["CLAIM", "not applicable"] == sum(not it.where for it in checklist.CLAIM) > 0
