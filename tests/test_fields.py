from redactor.core.fields import CardType, canonical_field, infer_card_type, normalise_name


def test_printed_labels_doc_wording_and_english_names_resolve():
    assert canonical_field("公民身份号码") == "id_number"
    assert canonical_field("公民身份证号") == "id_number"
    assert canonical_field("Identification Number (ID Number)") == "id_number"
    assert canonical_field("Birth (Date)") == "birth"
    assert canonical_field("出生") == canonical_field("出生日期") == "birth"
    assert canonical_field("初次领证日期") == "first_issue_date"
    assert canonical_field("发证单位") == "issuing_authority"
    assert canonical_field("准驾车型") == "vehicle_class"


def test_matching_is_tolerant_of_width_case_and_spaces():
    assert canonical_field("ＮＡＭＥ") == "name"
    assert canonical_field("  姓 名 ") == "name"
    assert canonical_field("identification number (id number)") == "id_number"
    assert canonical_field("license_number") == "license_number"
    assert canonical_field("签发机关") == "issuing_authority"  # the ID card back's label
    assert normalise_name("Birth (Date)") == normalise_name("birth date")


def test_unknown_names_stay_unknown():
    assert canonical_field("签发日期") is None
    assert canonical_field("") is None
    assert canonical_field("Favourite colour") is None


def test_card_type_inference():
    assert infer_card_type(["name", "id_number"]) is CardType.ID_CARD
    assert infer_card_type(["name", "license_number"]) is CardType.DRIVER_LICENSE
    assert infer_card_type(["name", "gender"]) is None
    assert infer_card_type(["ethnicity", "vehicle_class"]) is None
