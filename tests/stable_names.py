"""Names that are a stable interface (benchmarks and users' own intent packs depend on them)."""

EXERCISE_IDS = frozenset(
    {
        "check_in",
        "thirty_six_questions",
        "appreciation",
        "vulnerability",
        "listening_turns",
        "ten_minute_question",
        "device_free_talk",
    }
)
