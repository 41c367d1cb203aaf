"""Render a batch's documents as bytes: CSV, IDoc flat file, IDoc-XML.

The output depends only on the documents, the batch (number and creation time) and the
settings, so rendering a batch again gives the same bytes. Each account's document is one
IDoc; DOCNUM and OBJ_KEY carry the batch number and the document's place in the batch.
"""

import csv
import io
from datetime import datetime
from xml.etree import ElementTree as ET

from billing.sifac.documents import Document, SifacSettings
from billing.sifac.layouts import (
    CONTROL,
    DATA_PREFIX,
    HEADER,
    IDOCTYP,
    ITEM,
    MESTYP,
    ROOT,
    SDATA_LENGTH,
    Segment,
    level,
)
from kubemon.csv_cells import neutralise

# The flat file goes to a non-Unicode file port: one byte per character.
FLAT_ENCODING = "iso-8859-1"
CSV_COLUMNS = (
    "OBJ_KEY", "CO_AREA", "DOCDATE", "POSTGDATE", "DOC_HDR_TX", "USERNAME", "SEND_CCTR",
    "ACTTYPE", "ACTVTY_QTY", "ACTIVITYUN", "PRICE", "CURRENCY", "REC_CCTR", "REC_ORDER",
    "REC_WBS_EL", "SEG_TEXT",
)  # fmt: skip


def obj_key(batch: int, doc: int) -> str:
    """The reference key of a document: batch number and place, e.g. B000000007D00002."""
    return f"B{batch:09d}D{doc:05d}"


def docnum(batch: int, doc: int) -> str:
    return f"{batch:011d}{doc:05d}"


def control(batch: int, doc: int, created: datetime, s: SifacSettings) -> dict[str, str]:
    return {
        "TABNAM": "EDI_DC40",
        "MANDT": s.client,
        "DOCNUM": docnum(batch, doc),
        "DIRECT": "2",  # inbound to SAP
        "IDOCTYP": IDOCTYP,
        "MESTYP": MESTYP,
        "SNDPOR": s.sender_port,
        "SNDPRT": "LS",
        "SNDPRN": s.sender_system,
        "RCVPOR": s.receiver_port,
        "RCVPRT": "LS",
        "RCVPRN": s.receiver_system,
        "CREDAT": f"{created:%Y%m%d}",
        "CRETIM": f"{created:%H%M%S}",
        "ARCKEY": f"KUBEMON-BATCH-{batch}",
    }


def header(doc: Document, batch: int, place: int) -> dict[str, str]:
    return {**doc.header, "OBJ_KEY": obj_key(batch, place)}


def fixed(layout, values: dict[str, str]) -> str:
    """Lay values out left-aligned in their fields, padded with blanks."""
    if unknown := set(values) - {name for name, _ in layout}:
        raise ValueError(f"no such field {unknown}")
    out = []
    for name, length in layout:
        value = values.get(name, "")
        if len(value) > length:  # documents.py refuses such data; this is a bug guard
            raise ValueError(f"{name} {value!r} is longer than {length}")
        out.append(value.ljust(length))
    return "".join(out)


def data_record(seg: Segment, values, client, number, segnum, psgnum) -> str:
    prefix = {
        "SEGNAM": seg.definition,
        "MANDT": client,
        "DOCNUM": number,
        "SEGNUM": f"{segnum:06d}",
        "PSGNUM": f"{psgnum:06d}",
        "HLEVEL": f"{level(seg):02d}",
    }
    return fixed(DATA_PREFIX, prefix) + fixed(seg.fields, values).ljust(SDATA_LENGTH)


def flat_file(docs: list[Document], batch: int, created: datetime, s: SifacSettings) -> bytes:
    """One IDoc per document: EDI_DC40, then E1ACC_ACT_ALLOC with its header and items."""
    records = []
    for place, doc in enumerate(docs, 1):
        number = docnum(batch, place)
        records.append(fixed(CONTROL, control(batch, place, created, s)))
        records.append(data_record(ROOT, {}, s.client, number, 1, 0))
        records.append(data_record(HEADER, header(doc, batch, place), s.client, number, 2, 1))
        for i, values in enumerate(doc.items, 3):
            records.append(data_record(ITEM, values, s.client, number, i, 1))
    return "".join(r + "\r\n" for r in records).encode(FLAT_ENCODING)


def element(parent, tag: str, values: dict[str, str], layout) -> ET.Element:
    e = ET.SubElement(parent, tag, SEGMENT="1")
    for name, _ in layout:
        if values.get(name):
            ET.SubElement(e, name).text = values[name]
    return e


def idoc_xml(docs: list[Document], batch: int, created: datetime, s: SifacSettings) -> bytes:
    root = ET.Element(IDOCTYP)
    for place, doc in enumerate(docs, 1):
        idoc = ET.SubElement(root, "IDOC", BEGIN="1")
        element(idoc, "EDI_DC40", control(batch, place, created, s), CONTROL)
        top = element(idoc, ROOT.type, {}, ROOT.fields)
        element(top, HEADER.type, header(doc, batch, place), HEADER.fields)
        for values in doc.items:
            element(top, ITEM.type, values, ITEM.fields)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def csv_file(docs: list[Document], batch: int, created: datetime, s: SifacSettings) -> bytes:
    """One row per item, the document's header fields repeated: `;`, UTF-8, dot decimals.

    Text that a spreadsheet would run as a formula is quoted (kubemon/csv_cells.py); the
    amounts, decimal numbers, are written as they are.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for place, doc in enumerate(docs, 1):
        for values in doc.items:
            row = {**header(doc, batch, place), **values}
            writer.writerow([neutralise(row.get(c, "")) for c in CSV_COLUMNS])
    return out.getvalue().encode("utf-8")


FORMATS = {"csv": (csv_file, "csv"), "idoc": (flat_file, "idoc"), "idoc-xml": (idoc_xml, "xml")}
