"""`show --link`: CloudWatch console deep links. Each link is decoded back with a decoder written
from the other side (Sage/jsurl's `parse`, the console's `$` escaping undone) and its parts
checked; the encoders are checked byte for byte against URLs the console wrote."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apilogs.errors import InvalidInput
from apilogs.model import Invocation, Outcome, Request, Role, Source
from apilogs.render.console import (
    INSIGHTS_MAX_GROUPS,
    console_home,
    filter_pattern,
    insights_link,
    insights_query,
    jsurl,
    log_events_link,
    log_events_url,
    request_links,
)
from apilogs.times import iso_utc

RID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
LID = "0b8c2e58-3c5a-4a4e-9a51-4f3c2a1b0c9d"
TRACE = "1-5759e988-bd862e3fe1be46a994272793"
EXT = "JjGvEiWsoAMEPaA="
T0 = 1_700_000_000_000


# --- decoding, from the reader's side ----------------------------------------------------------


def jsurl_parse(text: str) -> Any:
    """Sage/jsurl's `parse`: `~(` object/array, `~'` string (`*xx`, `**xxxx`, `!`), numbers,
    `~true`/`~false`/`~null`."""
    at = 0

    def string_until_delimiter() -> str:
        nonlocal at
        out: list[str] = []
        units: list[int] = []
        while at < len(text) and text[at] not in "~)":
            ch = text[at]
            if ch == "*":
                if text[at + 1] == "*":
                    units.append(int(text[at + 2 : at + 6], 16))
                    at += 6
                else:
                    units.append(int(text[at + 1 : at + 3], 16))
                    at += 3
                continue
            out.append(bytes_of(units))
            units = []
            out.append("$" if ch == "!" else ch)
            at += 1
        out.append(bytes_of(units))
        return "".join(out)

    def bytes_of(units: list[int]) -> str:
        data = b"".join(u.to_bytes(2, "big") for u in units)
        return data.decode("utf-16-be", "surrogatepass")

    def value() -> Any:
        nonlocal at
        assert text[at] == "~", (text[at:], at)
        at += 1
        ch = text[at]
        if ch == "(":
            at += 1
            if text[at] == "~":  # an array: ~( ~a ~b )
                items = []
                if text[at : at + 2] == "~)":
                    at += 2
                    return items
                while text[at] != ")":
                    items.append(value())
                at += 1
                return items
            obj = {}
            while text[at] != ")":
                key = string_until_delimiter()
                obj[key] = value()
                if text[at] == "~":
                    at += 1
            at += 1
            return obj
        if ch == "'":
            at += 1
            return string_until_delimiter()
        word = string_until_delimiter()
        if word in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[word]
        return int(word)

    parsed = value()
    assert at == len(text), f"trailing {text[at:]!r}"
    return parsed


def decode_insights(url: str) -> tuple[Any, dict[str, Any]]:
    parts = urlsplit(url)
    prefix = "logsV2:logs-insights"
    assert parts.fragment.startswith(prefix)
    rest = unquote(parts.fragment[len(prefix) :].replace("$", "%"))
    assert rest.startswith("?queryDetail=")
    return parts, jsurl_parse(rest[len("?queryDetail=") :])


def decode_log_events(url: str) -> tuple[Any, str, dict[str, str]]:
    parts = urlsplit(url)
    head, _, rest = parts.fragment.partition("/log-events")
    assert head.startswith("logsV2:log-groups/log-group/")
    group = unquote(unquote(head.removeprefix("logsV2:log-groups/log-group/").replace("$", "%")))
    query = unquote(rest.replace("$", "%"))
    assert query.startswith("?")
    fields = {k: v[0] for k, v in parse_qs(query[1:], keep_blank_values=True).items()}
    return parts, group, fields


# --- the encoders against the console's own URLs ------------------------------------------------


def test_jsurl_writes_what_the_console_writes() -> None:
    # From a URL the console wrote (web3-storage/backup-progress, README.md).
    console = (
        "~(end~'2023-03-30T08*3a20*3a41.000Z~start~'2023-02-01T09*3a08*3a42.000Z~timeType~"
        "'ABSOLUTE~tz~'Local~editorString~'fields*20*40timestamp*2c*20*40message*0a*7c*20filter"
        "*20*40message*20like*20*22backup*20complete*22*0a*7c*20sort*20*40timestamp*20desc"
        "~queryId~'78b3f82c-5b6c-4914-9105-8131076af8a5~source~(~'prod-backup-ipfs-cluster))"
    )
    detail = {
        "end": "2023-03-30T08:20:41.000Z",
        "start": "2023-02-01T09:08:42.000Z",
        "timeType": "ABSOLUTE",
        "tz": "Local",
        "editorString": (
            'fields @timestamp, @message\n| filter @message like "backup complete"\n'
            "| sort @timestamp desc"
        ),
        "queryId": "78b3f82c-5b6c-4914-9105-8131076af8a5",
        "source": ["prod-backup-ipfs-cluster"],
    }
    assert jsurl(detail) == console
    assert jsurl_parse(console) == detail


def test_log_events_url_writes_what_the_console_writes() -> None:
    # sinofseven/cloudwatch_logs_url's expected URL (src/lib.rs).
    expected = (
        "https://ap-northeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-1"
        "#logsV2:log-groups/log-group/$252Faws$252Flambda$252Fluciferous-devio-index-cl-"
        "FunctionCheckIndividualS-qNWf7JYCZBBM/log-events$3FfilterPattern$3D$257B$2520$2524."
        "level$2520$253D$2520$2522DEBUG$2522$2520$257D$26start$3D1719759600000$26end$3D"
        "1722437999000"
    )
    url = log_events_url(
        "ap-northeast-1",
        "/aws/lambda/luciferous-devio-index-cl-FunctionCheckIndividualS-qNWf7JYCZBBM",
        '{ $.level = "DEBUG" }',
        1719759600000,
        1722437999000,
    )
    assert url == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"a": 1, "b": -3600, "c": True, "d": None}, "~(a~1~b~-3600~c~true~d~null)"),
        ([], "~(~)"),
        (["x", ["y"]], "~(~'x~(~'y))"),
        ("$5 ~ (x) *y* 'q'", "~'!5*20*7e*20*28x*29*20*2ay*2a*20*27q*27"),
        ("é€😀", "~'*e9**20ac**d83d**de00"),
    ],
)
def test_jsurl_values(value: Any, text: str) -> None:
    assert jsurl(value) == text
    assert jsurl_parse(text) == value


@given(st.text())
def test_any_text_survives_jsurl(text: str) -> None:
    assert jsurl_parse(jsurl({"editorString": text, "source": [text]})) == {
        "editorString": text,
        "source": [text],
    }


# --- Logs Insights -----------------------------------------------------------------------------


def test_insights_link_decodes_to_the_query_over_the_window() -> None:
    groups = ["API-Gateway-Execution-Logs_a1b2c3/prod", "/access/shop", "/aws/lambda/orders"]
    url = insights_link("eu-west-1", groups, [RID, LID, TRACE], T0, T0 + 5_000)
    parts, detail = decode_insights(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https", "eu-west-1.console.aws.amazon.com", "/cloudwatch/home"
    )  # fmt: skip
    assert parse_qs(parts.query) == {"region": ["eu-west-1"]}
    assert detail == {
        "end": "2023-11-14T22:13:25.000Z",
        "start": "2023-11-14T22:13:20.000Z",
        "timeType": "ABSOLUTE",
        "tz": "UTC",
        "editorString": insights_query([RID, LID, TRACE]),
        "source": groups,
        "lang": "CWLI",
    }
    assert detail["editorString"] == (
        "fields @timestamp, @log, @logStream, @message\n"
        f'| filter @message like "{RID}" or @message like "{LID}" or @message like "{TRACE}"\n'
        "| sort @timestamp asc\n"
        "| limit 10000"
    )
    # The console's escaping of its fragment: `?` and `=` as $3F/$3D, JSURL as it is.
    assert "#logsV2:logs-insights$3FqueryDetail$3D~(end~'2023-11-14T22*3a13*3a25.000Z~" in url
    assert "%" not in url and " " not in url


def test_insights_refuses_what_it_cannot_query() -> None:
    with pytest.raises(InvalidInput, match="at most 50 log groups"):
        insights_link("us-east-1", [f"/g/{i}" for i in range(51)], [RID], T0, T0)
    with pytest.raises(InvalidInput, match="at least one log group"):
        insights_link("us-east-1", [], [RID], T0, T0)
    with pytest.raises(InvalidInput, match="not a request ID"):
        insights_link("us-east-1", ["/g"], ['x" or @message like "'], T0, T0)
    with pytest.raises(InvalidInput, match="at least one request ID"):
        insights_link("us-east-1", ["/g"], [], T0, T0)
    with pytest.raises(InvalidInput, match="bad window"):
        insights_link("us-east-1", ["/g"], [RID], T0, T0 - 1)
    with pytest.raises(InvalidInput, match="not an AWS region"):
        insights_link("us-east-1.evil.example/", ["/g"], [RID], T0, T0)


@pytest.mark.parametrize(
    ("region", "home"),
    [
        ("us-east-1", "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"),
        ("cn-north-1", "https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1"),
        ("us-gov-west-1", "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1"),
    ],
)  # fmt: skip
def test_console_of_each_partition(region: str, home: str) -> None:
    assert console_home(region) == home


# --- a group's events --------------------------------------------------------------------------


def test_log_events_link_decodes_to_the_group_filtered_by_the_ids() -> None:
    url = log_events_link("us-east-1", "/aws/lambda/orders#blue", [RID, EXT], T0, T0 + 5_000)
    parts, group, query = decode_log_events(url)
    assert parts.netloc == "us-east-1.console.aws.amazon.com"
    assert group == "/aws/lambda/orders#blue"
    assert query == {
        "filterPattern": f'?"{RID}" ?"{EXT}"',
        "start": str(T0),
        "end": str(T0 + 5_000),
    }
    assert "$252Faws$252Flambda$252Forders$2523blue/log-events$3FfilterPattern$3D" in url


def test_one_id_is_one_quoted_term() -> None:
    assert filter_pattern([RID, RID]) == f'"{RID}"'


# --- one request -------------------------------------------------------------------------------


def test_request_links_cover_its_groups_ids_and_window() -> None:
    sources = [
        Source(Role.EXECUTION, "API-Gateway-Execution-Logs_a1b2c3/prod", "us-east-1"),
        Source(Role.ACCESS, "/access/shop", "us-east-1"),
        Source(Role.AUTHORIZER, "/aws/lambda/auth", "us-east-1", function_name="auth"),
        Source(Role.LAMBDA, "/aws/lambda/orders", "us-east-1", function_name="orders"),
        Source(Role.LAMBDA, "/aws/lambda/reports", "us-east-1", function_name="reports"),
        Source(Role.LAMBDA, "/aws/lambda/eu-fn", "eu-west-1", function_name="eu-fn"),
    ]
    request = Request(
        request_id=RID,
        start_ms=T0,
        end_ms=T0 + 3_000,
        outcome=Outcome.OK,
        cause="OK",
        trace_id=TRACE,
        lambda_request_ids=(LID,),
        invocations=(
            Invocation(LID, Role.LAMBDA, function="orders"),
            Invocation("c0ffee00-0000-4000-8000-000000000000", Role.LAMBDA, function="eu-fn"),
        ),
    )
    links = request_links(request, sources, margin_ms=60_000)
    assert [link.label for link in links] == [
        "Logs Insights (us-east-1)",
        "Logs Insights (eu-west-1)",
        "API-Gateway-Execution-Logs_a1b2c3/prod",
        "/access/shop",
        "/aws/lambda/orders",
        "/aws/lambda/eu-fn",
    ]
    parts, detail = decode_insights(links[0].url)
    assert parse_qs(parts.query) == {"region": ["us-east-1"]}
    # The functions it did not invoke are left out; the authorizer did not run.
    assert detail["source"] == [
        "API-Gateway-Execution-Logs_a1b2c3/prod",
        "/access/shop",
        "/aws/lambda/orders",
    ]
    assert (detail["start"], detail["end"]) == (iso_utc(T0 - 60_000), iso_utc(T0 + 63_000))
    assert detail["editorString"] == insights_query(request.ids)
    eu_parts, eu = decode_insights(links[1].url)
    assert eu_parts.netloc == "eu-west-1.console.aws.amazon.com"
    assert eu["source"] == ["/aws/lambda/eu-fn"]
    _, group, query = decode_log_events(links[5].url)
    assert group == "/aws/lambda/eu-fn"
    assert query["filterPattern"] == filter_pattern(request.ids)


def test_request_links_with_unknown_invocations_search_every_group() -> None:
    sources = [
        Source(Role.EXECUTION, "exec", "us-east-1"),
        *(Source(Role.LAMBDA, f"/aws/lambda/f{i}", "us-east-1", function_name=f"f{i}")
          for i in range(INSIGHTS_MAX_GROUPS + 5)),
    ]  # fmt: skip
    request = Request(RID, T0, T0, Outcome.UNKNOWN, "?")
    links = request_links(request, sources)
    insights = [link for link in links if link.label.startswith("Logs Insights")]
    assert [link.label for link in insights] == [
        "Logs Insights (us-east-1, groups 1-50)",
        "Logs Insights (us-east-1, groups 51-56)",
    ]
    searched = [g for link in insights for g in decode_insights(link.url)[1]["source"]]
    assert searched == [s.log_group for s in sources]
    assert len(links) == 2 + len(sources)


def test_a_request_without_ids_has_no_link() -> None:
    with pytest.raises(InvalidInput, match="no ID"):
        request_links(Request(None, T0, T0, Outcome.UNKNOWN, "?"), [])
