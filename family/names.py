"""How the family page names a caregiver: the given name only."""

# Two-character surnames (复姓) that a Chinese full name may start with.
COMPOUND_SURNAMES = frozenset(
    {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文"}
)


def _cjk(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


def given_name(full_name: str) -> str:
    """张小红 -> 小红, 欧阳娜娜 -> 娜娜 (surname first, no space); "Anna Smith" -> "Anna"
    (given name first). A one-character or unparsed name is shown as it is."""
    name = full_name.strip()
    if not name:
        return ""
    if _cjk(name):
        surname = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
        return name[surname:] if len(name) > surname else name
    return name.split()[0]
