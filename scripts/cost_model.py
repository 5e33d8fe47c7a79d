"""What a month of the shop costs in AWS (us-east-1, on-demand list prices), per number of
orders: from what the bench counted per order and per visit (target/bench/costs.json: API
requests by route, DynamoDB request units, events, queue deliveries, emails) and from
template.yaml (each function's memory and architecture, the queues, alarms, secrets, the
search domain and the stage cache), with the assumptions below stated as options.

    cargo build --workspace --bin bench && SHOP_BENCH_ONLY=costs target/debug/bench
    .venv/bin/python scripts/cost_model.py [--orders 1000000] [--visits-per-order 30] ...

The prices are the public list prices this script carries (PRICES); check them against AWS's
price list before relying on the totals.
"""

import argparse
import json
import math
import sys
from pathlib import Path

from cfnlint.decode import cfn_yaml

sys.path.insert(0, str(Path(__file__).parent))
from expand_template import expanded  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# us-east-1, on demand, USD.
PRICES = {
    "api_gateway_rest_per_million": 3.50,
    "lambda_requests_per_million": 0.20,
    "lambda_gb_second": {"arm64": 0.0000133334, "x86_64": 0.0000166667},
    "dynamodb_read_unit_per_million": 0.125,
    "dynamodb_write_unit_per_million": 0.625,
    "dynamodb_storage_gb_month": 0.25,
    "sns_publish_per_million": 0.50,
    "sqs_request_per_million": 0.40,
    "ses_per_thousand": 0.10,
    "cloudwatch_logs_ingest_gb": 0.50,
    "cloudwatch_alarm_month": 0.10,
    "cloudwatch_dashboard_month": 3.00,
    "xray_trace_per_million": 5.00,
    # Per monthly active user past the first 10,000 (free in Lite and Essentials); Lite's price
    # falls in steps, Plus (which threat protection needs) has no free users.
    "cognito_mau": {
        "lite": [(10_000, 0.0), (100_000, 0.0055), (1_000_000, 0.0046), (10_000_000, 0.00325), (math.inf, 0.0025)],
        "essentials": [(10_000, 0.0), (math.inf, 0.015)],
        "plus": [(math.inf, 0.02)],
    },
    "secret_month": 0.40,
    "kms_key_month": 1.00,
    "opensearch_hour": {"t3.small.search": 0.036, "t3.medium.search": 0.073, "m6g.large.search": 0.128},
    "opensearch_gp3_gb_month": 0.122,
    "api_cache_hour": {"0.5": 0.020, "1.6": 0.038, "6.1": 0.200},
    # The same shop on one always-on container (the local stack's binary, SQLite on its volume):
    # Fargate, 1 vCPU and 2 GiB, arm64, with a 20 GB volume, behind an Application Load Balancer.
    "fargate_vcpu_hour_arm64": 0.03238,
    "fargate_gb_hour_arm64": 0.00356,
    "ebs_gp3_gb_month": 0.08,
    "alb_hour": 0.0225,
    "alb_lcu_hour": 0.008,
}
HOURS = 730


def template():
    """The template with its loops expanded, and its parameters' defaults."""
    loaded = cfn_yaml.load(str(ROOT / "template.yaml"))
    defaults = {name: p.get("Default") for name, p in loaded.get("Parameters", {}).items()}
    return expanded(loaded["Resources"]), loaded.get("Globals", {}), defaults


def functions(resources, globals_):
    """Each function's memory (MB), its API routes, its queue and whether a stream triggers it."""
    default_memory = globals_.get("Function", {}).get("MemorySize", 128)
    out = {}
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        events = (properties.get("Events") or {}).values()
        routes = {e["Properties"]["Path"] for e in events if e.get("Type") == "Api"}
        queues = {str(e["Properties"]["Queue"]) for e in events if e.get("Type") == "SQS"}
        stream = any(e.get("Type") == "DynamoDB" for e in events)
        memory = properties.get("MemorySize", default_memory)
        out[name] = {"memory": memory if isinstance(memory, int) else default_memory,
                     "routes": routes, "queues": queues, "stream": stream}
    return out


def memory_for(functions_, match, what):
    """The memory of the function `match` picks; a count no function serves is an error, not a
    guess: the bench and the template have drifted apart."""
    for function in functions_.values():
        if match(function):
            return function["memory"]
    sys.exit(f"no function in template.yaml serves {what}")


def cognito(users, tier):
    """Cognito's price for `users` monthly active users in `tier`, step by step."""
    usd, below = 0.0, 0
    for up_to, price in PRICES["cognito_mau"][tier]:
        usd += max(min(users, up_to) - below, 0) * price
        below = up_to
    return usd


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default=str(ROOT / "target/bench/costs.json"))
    parser.add_argument("--orders", type=float, default=1_000_000, help="orders placed and paid a month")
    parser.add_argument("--visits-per-order", type=float, default=30,
                        help="visits per order, the buying one included (30: a 3.3 %% conversion)")
    parser.add_argument("--monthly-active-accounts", type=float, default=400_000,
                        help="accounts that sign in during the month (Cognito's MAU; guests are none)")
    parser.add_argument("--cognito-tier", choices=["lite", "essentials", "plus"], default="essentials",
                        help="the user pool's feature plan (the template names none: Essentials)")
    parser.add_argument("--billed-ms", type=float, default=25,
                        help="a warm invocation's billed duration, ms (a few DynamoDB round trips)")
    parser.add_argument("--log-bytes", type=float, default=1_200,
                        help="log bytes an invocation writes (Lambda's START/END/REPORT and the shop's lines)")
    parser.add_argument("--sqs-requests-per-delivery", type=float, default=3,
                        help="SQS requests per message: sent by SNS, received and deleted by Lambda")
    parser.add_argument("--stored-kb-per-order", type=float, default=12,
                        help="table bytes an order keeps (the order, its rows, its messages), KB")
    args = parser.parse_args()

    counts = json.loads(Path(args.counts).read_text())
    resources, globals_, defaults = template()
    fns = functions(resources, globals_)
    architecture = defaults.get("FunctionArchitecture", "arm64")
    orders = args.orders
    visits = orders * max(args.visits_per_order - 1, 0)

    def journeys():
        yield counts["order"], orders
        yield counts["visit"], visits

    lines = {}

    def add(item, usd):
        lines[item] = lines.get(item, 0.0) + usd

    invocations = gb_seconds = api_requests = events = deliveries = emails = 0.0
    read_units = write_units = 0.0
    for journey, times in journeys():
        for route, n in journey["api_requests"].items():
            memory = memory_for(fns, lambda f, r=route: r in f["routes"], f"the route {route}")
            api_requests += n * times
            invocations += n * times
            gb_seconds += n * times * memory / 1024 * args.billed_ms / 1000
        for queue, n in journey["queue_deliveries"].items():
            queue_resource = queue.capitalize() + "Queue"
            memory = memory_for(fns, lambda f, q=queue_resource: any(q in s for s in f["queues"]), f"the queue {queue_resource}")
            deliveries += n * times
            invocations += n * times
            gb_seconds += n * times * memory / 1024 * args.billed_ms / 1000
        n_events = journey["items_written"].get("EVENT", 0) * times
        events += n_events
        # The publisher: at most one invocation per event (the stream hands several at once).
        invocations += n_events
        gb_seconds += n_events * memory_for(fns, lambda f: f["stream"], "the table's stream") / 1024 * args.billed_ms / 1000
        for used in journey["dynamodb"].values():
            read_units += used["read_units"] * times
            write_units += used["write_units"] * times
        emails += journey["emails"] * times

    add("API Gateway (REST) requests", api_requests / 1e6 * PRICES["api_gateway_rest_per_million"])
    add("Lambda requests", invocations / 1e6 * PRICES["lambda_requests_per_million"])
    add("Lambda duration", gb_seconds * PRICES["lambda_gb_second"][architecture])
    add("DynamoDB reads", read_units / 1e6 * PRICES["dynamodb_read_unit_per_million"])
    add("DynamoDB writes", write_units / 1e6 * PRICES["dynamodb_write_unit_per_million"])
    add("DynamoDB storage (a month's orders)", orders * args.stored_kb_per_order / 1e6 * PRICES["dynamodb_storage_gb_month"])
    add("SNS publishes", events / 1e6 * PRICES["sns_publish_per_million"])
    add("SQS requests", deliveries * args.sqs_requests_per_delivery / 1e6 * PRICES["sqs_request_per_million"])
    queues = sum(1 for r in resources.values() if r.get("Type") == "AWS::SQS::Queue") // 2
    # Lambda's pollers long-poll each queue all month (5 pollers, a 20 s wait), busy or not.
    add("SQS idle polling (fixed)", queues * 5 * HOURS * 3600 / 20 / 1e6 * PRICES["sqs_request_per_million"])
    add("SES email", emails / 1000 * PRICES["ses_per_thousand"])
    log_gb = invocations * args.log_bytes / 1e9
    add("CloudWatch Logs ingestion", log_gb * PRICES["cloudwatch_logs_ingest_gb"])
    # X-Ray's default rule: the first request each second, then 5 % of the rest.
    seconds = HOURS * 3600
    traced = min(api_requests, seconds) + 0.05 * max(api_requests - seconds, 0)
    add("X-Ray traces", traced / 1e6 * PRICES["xray_trace_per_million"])
    add(f"Cognito ({args.cognito_tier}, monthly active accounts)", cognito(args.monthly_active_accounts, args.cognito_tier))
    alarms = sum(1 for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm")
    dashboards = sum(1 for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Dashboard")
    add("CloudWatch alarms and dashboard (fixed)",
        alarms * PRICES["cloudwatch_alarm_month"] + dashboards * PRICES["cloudwatch_dashboard_month"])
    search_type = defaults.get("SearchInstanceType", "t3.small.search")
    search_nodes = int(defaults.get("SearchInstanceCount", 1))
    add("OpenSearch domain (fixed)", search_nodes * (PRICES["opensearch_hour"].get(search_type, 0.036) * HOURS
                                                     + int(defaults.get("SearchVolumeGiB", 10)) * PRICES["opensearch_gp3_gb_month"]))
    cache = str(defaults.get("ReadCacheGiB", "0"))
    add("API Gateway stage cache (fixed)", PRICES["api_cache_hour"].get(cache, 0.0) * HOURS)
    secrets = sum(1 for r in resources.values() if r.get("Type") == "AWS::SecretsManager::Secret" and "Condition" not in r)
    keys = sum(1 for r in resources.values() if r.get("Type") == "AWS::KMS::Key")
    add("Secrets Manager and KMS keys (fixed)", secrets * PRICES["secret_month"] + keys * PRICES["kms_key_month"])

    total = sum(lines.values())
    print(f"# A month of {orders:,.0f} orders ({visits + orders:,.0f} visits), us-east-1, {architecture}")
    print(f"Counts: {args.counts}; assumptions: {vars(args)}\n")
    print("| item | USD a month | share |")
    print("|---|---|---|")
    for item, usd in sorted(lines.items(), key=lambda kv: -kv[1]):
        print(f"| {item} | {usd:,.2f} | {usd / total:.1%} |")
    print(f"| **total** | **{total:,.2f}** | |")
    print(f"| per order | {total / orders:.4f} | |")
    print(f"\nRequests a month: API {api_requests:,.0f}, Lambda {invocations:,.0f} "
          f"({gb_seconds:,.0f} GB-s), DynamoDB {read_units:,.0f} read and {write_units:,.0f} write units, "
          f"events {events:,.0f}, queue deliveries {deliveries:,.0f}, emails {emails:,.0f}")

    container = (HOURS * (PRICES["fargate_vcpu_hour_arm64"] + 2 * PRICES["fargate_gb_hour_arm64"])
                 + 20 * PRICES["ebs_gp3_gb_month"] + HOURS * (PRICES["alb_hour"] + PRICES["alb_lcu_hour"]))
    same = lines["SES email"] + lines["OpenSearch domain (fixed)"]
    print(f"\nThe same shop on one always-on container (1 vCPU, 2 GiB, 20 GB volume, a load balancer, "
          f"with SES and the search domain as above): {container + same:,.2f} USD a month, "
          f"{math.ceil(api_requests / seconds)} requests a second on average")


if __name__ == "__main__":
    main()
