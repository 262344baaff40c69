"""The PACS panel's model without Qt: search, retrieve with the first series opening early,
retry after a cancel, sending back to the node a study came from, against a real Orthanc."""

from __future__ import annotations

from viewer.pacs import NodeBook, StudyCache, StudyQuery, parse_node
from viewer.pacs.browser import PacsBrowser
from viewer.pacs.nodes import DicomNode


def make(tmp_path, site, **options) -> tuple[PacsBrowser, dict]:
    book = NodeBook(tmp_path / "nodes.json")
    dicom = parse_node(site.orthanc.dicom_url)
    book.put(DicomNode(dicom.ae_title, dicom.host, dicom.port, name="site"))
    browser = PacsBrowser(book=book, cache=StudyCache(tmp_path / "cache"), **options)
    seen = {"messages": [], "opened": [], "retrievals": [], "busy": []}
    browser.message.connect(lambda level, text: seen["messages"].append((level, text)))
    browser.open_requested.connect(lambda paths: seen["opened"].append(paths))
    browser.retrieval_changed.connect(lambda r: seen["retrievals"].append(r))
    browser.busy_changed.connect(lambda task, on: seen["busy"].append((task, on)))
    return browser, seen


def test_nothing_touches_the_network_or_disk_until_asked(tmp_path, pacs_site):
    browser = PacsBrowser(book=NodeBook(tmp_path / "nodes.json"))
    assert browser.node is None and browser.results == () and browser.jobs == {}
    assert browser._cache is None  # the cache is not even opened
    messages = []
    browser.message.connect(lambda level, text: messages.append((level, text)))
    browser.search(StudyQuery(patient_name="x"))
    assert messages == [("error", "choose or add a PACS node first")]


def test_search_then_retrieve_opens_the_first_series_before_the_rest(tmp_path, pacs_site):
    browser, seen = make(tmp_path, pacs_site)
    assert browser.node.name == "site"
    browser.search(StudyQuery(patient_name="phantom"))
    (study,) = browser.results
    assert seen["messages"][-1] == ("info", "1 study found")

    browser.retrieve(study)
    first_open = seen["opened"][0]
    assert len(first_open) == 10  # the first series alone...
    at_open = next(r for r in seen["retrievals"] if r.series_ready == 1)
    assert at_open.done == 10 and at_open.running  # ...while the second has not arrived
    final = browser.retrieval
    assert not final.running and final.result.complete and final.text == "16 / 16 instances"
    assert seen["messages"][-1][1].startswith("Study retrieved: 16 instances, 16 fetched")
    assert ("retrieve", True) in seen["busy"] and seen["busy"][-1] == ("retrieve", False)

    assert browser.open_all() and len(seen["opened"][-1]) == 16
    assert browser.node_for(study.study_uid).name == "site"  # results go back there


def test_cancel_then_retry(tmp_path, pacs_site):
    browser, seen = make(tmp_path, pacs_site)
    browser.search(StudyQuery(accession="ACC-2026-0042"))
    (study,) = browser.results
    browser.retrieval_changed.connect(
        lambda r: browser.cancel() if r.running and r.done == 3 else None)
    browser.retrieve(study)
    stopped = browser.retrieval.result
    assert stopped.cancelled and stopped.instances < 16
    assert "Retry fetches the rest" in seen["messages"][-1][1]

    browser.retrieval_changed.disconnect()
    browser.retry()
    assert browser.retrieval.result.complete
    assert browser.retrieval.result.received == 16 - stopped.instances


def test_errors_reach_the_panel_as_messages(tmp_path, pacs_site):
    browser, seen = make(tmp_path, pacs_site)
    browser.select_node("dicom://ORTHANC@127.0.0.1:1")
    browser.search(StudyQuery())
    level, text = seen["messages"][-1]
    assert level == "error" and "nothing is listening on 127.0.0.1:1" in text
    assert browser.jobs == {}  # nothing left hanging
    browser.test_connection()
    assert "connection refused" in seen["messages"][-1][1]
    browser.select_node("site")
    browser.test_connection()
    assert seen["messages"][-1][1].startswith("site: DIMSE connection OK")
