"""Which ID documents in the evaluation data show the same specimen person.

Identified by eye on the portrait crops; paths are relative to ``id_documents/`` of the data.
The PNG twins of the JPEG scans in ``passporteye_tests`` are the same scan re-encoded, so only the
JPEGs are listed. Used by ``scripts/eval_documents.py`` and ``scripts/eval_id_portraits.py``.
"""

from __future__ import annotations

#: The ICAO specimen person (Anna Maria Eriksson) on ten documents.
SPECIMEN_ERIKSSON = (
    "fastmrz/mrva.jpg",
    "fastmrz/mrvb.jpg",
    "fastmrz/td1.jpg",
    "fastmrz/td2.jpg",
    "fastmrz/td3.jpg",
    "passporteye_testdata/100_pass-uto.jpg",
    "passporteye_testdata/100_pass2-uto.jpg",
    "passporteye_testdata/25_pass-uto.jpg",
    "passporteye_tests/passport-td2.jpg",
    "passporteye_tests/passport-td3.jpg",
)
#: The Polish specimen person on a passport and a visa.
SPECIMEN_POLAND = ("passporteye_testdata/100_pass-polx.jpg", "passporteye_testdata/100_visa-polx.jpg")
SPECIMEN_GROUPS = {"eriksson": SPECIMEN_ERIKSSON, "poland": SPECIMEN_POLAND}
