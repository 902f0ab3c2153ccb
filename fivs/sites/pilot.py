"""The 2023 Bắc Giang pilot: 10 primary schools (one per district-level unit) and 2 clinics.

Real school and clinic names are not known to us: these are clear placeholders that admins
edit in the app. District names are as recorded in 2023. In 2025 Bắc Giang merged into Bắc Ninh
and districts were abolished: the sites are now in Bắc Ninh, their district is kept as the former
one, and their new commune is not known to us (admins fill it in or import it).
"""
from __future__ import annotations

PROVINCE = "Bắc Ninh"  # since the 2025 reform
FORMER_PROVINCE = "Bắc Giang"  # as recorded in 2023

# (code, district as recorded in 2023, the unit's kind prefix)
SCHOOL_DISTRICTS = (
    ("TH-BACGIANG", "Thành phố Bắc Giang"),
    ("TH-HIEPHOA", "Hiệp Hòa"),
    ("TH-LANGGIANG", "Lạng Giang"),
    ("TH-LUCNAM", "Lục Nam"),
    ("TH-LUCNGAN", "Lục Ngạn"),
    ("TH-SONDONG", "Sơn Động"),
    ("TH-TANYEN", "Tân Yên"),
    ("TH-VIETYEN", "Việt Yên"),
    ("TH-YENDUNG", "Yên Dũng"),
    ("TH-YENTHE", "Yên Thế"),
)

CLINICS = (
    ("PK-01", "Cơ sở khám chữa bệnh thí điểm số 1"),
    ("PK-02", "Cơ sở khám chữa bệnh thí điểm số 2"),
)


def pilot_sites() -> list[dict]:
    sites = []
    for code, district in SCHOOL_DISTRICTS:
        place = district if district.startswith("Thành phố") else f"huyện {district}"
        sites.append({"code": code, "kind": "school", "former_district": district, "province": PROVINCE,
                      "former_province": FORMER_PROVINCE, "name": f"Trường Tiểu học thí điểm {place} (tên tạm)"})
    for code, name in CLINICS:
        sites.append({"code": code, "kind": "clinic", "former_district": None, "province": PROVINCE,
                      "former_province": FORMER_PROVINCE, "name": f"{name} (tên tạm)"})
    return sites


# Demo accounts created by `flask seed --demo` (make run). Password for all: see README.
DEMO_PASSWORD = "fivs-demo-2023"
DEMO_USERS = (
    {"username": "admin", "full_name": "Quản trị viên", "role": "admin"},
    {"username": "reviewer", "full_name": "Cán bộ Chi cục (demo)", "role": "reviewer"},
    {"username": "consultant", "full_name": "Chuyên gia tư vấn (demo)", "role": "consultant",
     "assign": [c for c, _ in SCHOOL_DISTRICTS] + [c for c, _ in CLINICS]},
    {"username": "principal", "full_name": "Hiệu trưởng (demo)", "role": "principal",
     "site": "TH-SONDONG"},
    {"username": "staff", "full_name": "Giáo viên (demo)", "role": "staff", "site": "TH-SONDONG"},
    {"username": "clinichead", "full_name": "Trưởng phòng khám (demo)", "role": "principal",
     "site": "PK-01"},
)
