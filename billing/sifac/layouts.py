"""The IDoc ACC_ACT_ALLOC02 (message ACC_ACT_ALLOC) record and segment layouts.

One table drives the fixed-width flat file, the IDoc-XML and the XSD generated for it, so
the three cannot disagree. Lengths and order follow reference/sifac-idoc.md (SAP's parser
file for EDI_DC40/EDI_DD40, BAPIDOCHDRP and BAPIAAITM segment version 002). The segment
versions EPFL's system releases must be checked against its WE63 parser file. The lengths
of the fields that carry finance's data are billing/sap_fields.py's, which the ledger checks
values against when they are entered.
"""

from dataclasses import dataclass

from billing.sap_fields import LENGTH

IDOCTYP = "ACC_ACT_ALLOC02"
MESTYP = "ACC_ACT_ALLOC"

CONTROL = (  # EDI_DC40, 524 characters
    ("TABNAM", 10), ("MANDT", 3), ("DOCNUM", 16), ("DOCREL", 4), ("STATUS", 2),
    ("DIRECT", 1), ("OUTMOD", 1), ("EXPRSS", 1), ("TEST", 1), ("IDOCTYP", 30),
    ("CIMTYP", 30), ("MESTYP", 30), ("MESCOD", 3), ("MESFCT", 3), ("STD", 1),
    ("STDVRS", 6), ("STDMES", 6), ("SNDPOR", 10), ("SNDPRT", 2), ("SNDPFC", 2),
    ("SNDPRN", 10), ("SNDSAD", 21), ("SNDLAD", 70), ("RCVPOR", 10), ("RCVPRT", 2),
    ("RCVPFC", 2), ("RCVPRN", 10), ("RCVSAD", 21), ("RCVLAD", 70), ("CREDAT", 8),
    ("CRETIM", 6), ("REFINT", 14), ("REFGRP", 14), ("REFMES", 14), ("ARCKEY", 70),
    ("SERIAL", 20),
)  # fmt: skip
# Fields SAP's generated IDoc XSDs declare as required in the control record.
CONTROL_REQUIRED = frozenset(
    ("TABNAM", "DIRECT", "IDOCTYP", "MESTYP", "SNDPOR", "SNDPRT", "SNDPRN", "RCVPOR", "RCVPRN")
)
DATA_PREFIX = (  # EDI_DD40 before SDATA: 63 characters
    ("SEGNAM", 30), ("MANDT", 3), ("DOCNUM", 16), ("SEGNUM", 6), ("PSGNUM", 6), ("HLEVEL", 2),
)  # fmt: skip
SDATA_LENGTH = 1000


@dataclass(frozen=True)
class Segment:
    type: str  # the element name in IDoc-XML, e.g. E1BPAAITM
    definition: str  # SEGNAM in flat files: E2 + type + 3-digit version
    fields: tuple[tuple[str, int], ...]
    parent: str | None
    min_occurs: int
    max_occurs: int | None  # None: unbounded


ROOT = Segment("E1ACC_ACT_ALLOC", "E2ACC_ACT_ALLOC000", (("IGNORE_WARNINGS", 1),), None, 1, 1)
HEADER = Segment(
    "E1BPDOCHDRP",
    "E2BPDOCHDRP000",
    (
        ("CO_AREA", 4),
        ("DOCDATE", 8),
        ("POSTGDATE", 8),
        ("VERSION", 3),
        ("DOC_NO", 10),
        ("VARIANT", 5),
        ("DOC_HDR_TX", LENGTH["DOC_HDR_TX"]),
        ("USERNAME", 12),
        ("OBJ_KEY", 20),
        ("OBJ_TYPE", 5),
        ("OBJ_SYS", 10),
    ),  # fmt: skip
    "E1ACC_ACT_ALLOC",
    1,
    1,
)
ITEM = Segment(
    "E1BPAAITM",
    "E2BPAAITM002",
    (
        ("SEND_CCTR", 10),
        ("ACTTYPE", LENGTH["ACTTYPE"]),
        ("SENBUSPROC", 12),
        ("ACTVTY_QTY", LENGTH["ACTVTY_QTY"]),
        ("ACTIVITYUN", LENGTH["ACTIVITYUN"]),
        ("ACTIVITYUN_ISO", 3),
        ("PRICE", LENGTH["PRICE"]),
        ("CURRENCY", 5),
        ("CURRENCY_ISO", 3),
        ("POS_OUTQTY", 17),
        ("POSTOUTUN", 3),
        ("POSTOUTUN_ISO", 3),
        ("PERSON_NO", 8),
        ("SEG_TEXT", LENGTH["SEG_TEXT"]),
        ("REC_CCTR", LENGTH["REC_CCTR"]),
        ("REC_ORDER", LENGTH["REC_ORDER"]),
        ("REC_WBS_EL", LENGTH["REC_WBS_EL"]),
    ),  # fmt: skip
    "E1ACC_ACT_ALLOC",
    1,
    None,
)
SEGMENTS = (ROOT, HEADER, ITEM)


def children(segment: Segment) -> list[Segment]:
    return [s for s in SEGMENTS if s.parent == segment.type]


def level(segment: Segment) -> int:
    """HLEVEL: 2 for a top-level segment, one more per level below."""
    depth = 2
    while segment.parent:
        segment = next(s for s in SEGMENTS if s.type == segment.parent)
        depth += 1
    return depth
