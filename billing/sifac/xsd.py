"""The XML schema of the project's ACC_ACT_ALLOC02 IDoc-XML, generated from layouts.py.

It follows the shape of the XSDs SAP generates (WE60): the basic type as root, IDOC with
BEGIN="1", every segment with a required SEGMENT="1", fields as optional strings with the
flat-file length as maxLength, and SAP's required control-record fields. Until EPFL hands
over the XSD of its own release, this is what the export is checked against.
"""

from xml.etree import ElementTree as ET

from billing.sifac.layouts import (
    CONTROL,
    CONTROL_REQUIRED,
    IDOCTYP,
    MESTYP,
    SEGMENTS,
    Segment,
    children,
)

XS = "http://www.w3.org/2001/XMLSchema"


def xs(parent, tag: str, **attributes) -> ET.Element:
    return ET.SubElement(parent, f"{{{XS}}}{tag}", attributes)


def string_field(sequence, name: str, length: int, required: bool):
    e = xs(sequence, "element", name=name, minOccurs="1" if required else "0")
    restriction = xs(xs(e, "simpleType"), "restriction", base="xs:string")
    xs(restriction, "maxLength", value=str(length))


def fixed_attribute(complex_type, name: str):
    xs(complex_type, "attribute", name=name, use="required", fixed="1", type="xs:string")


def segment_type(schema, seg: Segment):
    complex_type = xs(schema, "complexType", name=f"{seg.type}.{IDOCTYP}")
    sequence = xs(complex_type, "sequence")
    for name, length in seg.fields:
        string_field(sequence, name, length, required=False)
    for child in children(seg):
        xs(
            sequence,
            "element",
            name=child.type,
            type=f"{child.type}.{IDOCTYP}",
            minOccurs=str(child.min_occurs),
            maxOccurs="unbounded" if child.max_occurs is None else str(child.max_occurs),
        )
    fixed_attribute(complex_type, "SEGMENT")


def schema() -> bytes:
    ET.register_namespace("xs", XS)
    root = ET.Element(f"{{{XS}}}schema", elementFormDefault="unqualified")
    top = xs(root, "element", name=IDOCTYP)
    idoc = xs(xs(xs(top, "complexType"), "sequence"), "element", name="IDOC", maxOccurs="unbounded")
    idoc_type = xs(idoc, "complexType")
    sequence = xs(idoc_type, "sequence")
    xs(sequence, "element", name="EDI_DC40", type=f"EDI_DC40.{MESTYP}.{IDOCTYP}")
    for seg in SEGMENTS:
        if seg.parent is None:
            xs(sequence, "element", name=seg.type, type=f"{seg.type}.{IDOCTYP}")
    fixed_attribute(idoc_type, "BEGIN")
    control = xs(root, "complexType", name=f"EDI_DC40.{MESTYP}.{IDOCTYP}")
    control_fields = xs(control, "sequence")
    for name, length in CONTROL:
        string_field(control_fields, name, length, required=name in CONTROL_REQUIRED)
    fixed_attribute(control, "SEGMENT")
    for seg in SEGMENTS:
        segment_type(root, seg)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
