#!/usr/bin/env python3
"""A task as a program, for `tessera-agent --command`: prices one European option.

The agent writes the task's payload to stdin and takes stdout as its result; a non-zero exit
fails the task with the end of stderr. Standard library only, so any python3 runs it:

    echo '{"kind":"call","spot":100,"strike":105,"rate":0.03,"volatility":0.2,"maturity":1}' \
        | python3 examples/pricer.py

Input: the fields of examples/option-pricing.ts (kind, spot, strike, rate, volatility, maturity);
the price here is Black-Scholes' closed form rather than Monte-Carlo.
"""
import json
import math
import sys

FIELDS = ("spot", "strike", "rate", "volatility", "maturity")


def normal_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def price(option):
    """Black-Scholes price and delta of a European call or put."""
    kind = option.get("kind", "call")
    if kind not in ("call", "put"):
        raise ValueError('kind: must be "call" or "put"')
    for field in FIELDS:
        value = option.get(field)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{field}: must be a number")
        if field != "rate" and value <= 0:
            raise ValueError(f"{field}: must be positive")
    s, k, r = option["spot"], option["strike"], option["rate"]
    sigma, t = option["volatility"], option["maturity"]
    d1 = (math.log(s / k) + (r + sigma * sigma / 2.0) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    discount = math.exp(-r * t)
    if kind == "call":
        return {"price": s * normal_cdf(d1) - k * discount * normal_cdf(d2), "delta": normal_cdf(d1)}
    return {"price": k * discount * normal_cdf(-d2) - s * normal_cdf(-d1), "delta": normal_cdf(d1) - 1.0}


def main():
    try:
        option = json.load(sys.stdin)
        if not isinstance(option, dict):
            raise ValueError("the payload must be a JSON object")
        result = price(option)
    except (ValueError, json.JSONDecodeError) as error:
        print(f"pricer: {error}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
