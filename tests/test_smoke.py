from instructor_py import OutputMode, Usage


def test_usage_adds() -> None:
    assert Usage(1, 2) + Usage(3, 4) == Usage(4, 6)
    assert (Usage(1, 2) + Usage(3, 4)).total_tokens == 10


def test_modes_are_strings() -> None:
    assert OutputMode("md_json") is OutputMode.MD_JSON
