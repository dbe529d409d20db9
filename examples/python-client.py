#!/usr/bin/env python3
"""Prices a small book of European options on a Tessera grid from Python, with the Python client
(packages/python; `pip install ./packages/python`, or PYTHONPATH=packages/python/src).

    npm start                                   # in another terminal: the local grid
    export TESSERA_URL=http://127.0.0.1:8787 TESSERA_TOKEN=...   # as npm start prints them
    python3 examples/python-client.py 200

Each task runs `price-european-option` (examples/option-pricing.ts) on the grid's workers. Stop it
with Ctrl-C while results stream in, and run it again with the resume token it printed
(`--resume TOKEN`): it carries on with the results it had not shown, none twice.

Python end to end: with a pool of warm Python workers on the local grid (tessera.local.json:
`"pools": ["default", "py"], "workerPools": {"py": {"command": "python3 -m tessera.worker
examples/python_pricing.py", "concurrency": 2}}`), price the book there with the Python task
`price-py` (examples/python_pricing.py, Black-Scholes):

    python3 examples/python-client.py 200 --session py-book --pool py --handler price-py

"""

import argparse
import sys

from tessera import Tessera, TesseraError, UsageError


def book(count):
    """`count` options: strikes from 80 to 120 around a spot of 100, calls and puts."""
    for i in range(count):
        yield {
            "kind": "call" if i % 2 == 0 else "put",
            "spot": 100.0,
            "strike": 80.0 + 40.0 * i / max(1, count - 1),
            "rate": 0.03,
            "volatility": 0.2,
            "maturity": 1.0,
            "paths": 20_000,
            "seed": i,
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=100, help="options to price (default 100)")
    parser.add_argument("--session", default="python-pricing", help="session id (default python-pricing)")
    parser.add_argument("--resume", metavar="TOKEN", help="a resume token this script printed")
    parser.add_argument("--pool", help="pool of the new session (default: the grid's default pool)")
    parser.add_argument(
        "--handler", default="price-european-option", help="task to run (default price-european-option)"
    )
    args = parser.parse_args()

    tessera = Tessera()  # TESSERA_URL / TESSERA_TOKEN, or the tessera CLI's profile
    if args.resume:
        session = tessera.session(args.session)
    else:
        config = {"pool": args.pool} if args.pool else None
        tags = {"source": "examples/python-client.py"}
        with tessera.create_session(args.session, config=config, tags=tags) as session:
            summary = session.submit(book(args.count), handler=args.handler)
            print(
                f"submitted {summary.submitted} options ({summary.existing} there already)", file=sys.stderr
            )

    stream = session.results(resume_from=args.resume)
    try:
        for result in stream:
            if result.error:
                print(f"{result.index}\t{result.status}\t{result.error.code}: {result.error.message}")
            else:
                # The Monte-Carlo pricer gives its standard error; Black-Scholes (price-py) its delta.
                other = ", ".join(f"{k} {v:.4f}" for k, v in result.output.items() if k not in ("price", "paths"))
                print(f"{result.index}\t{result.output['price']:.4f}\t{other}")
    except KeyboardInterrupt:
        token = stream.resume_token  # None until a result was shown: then start over
        resume = f"--session {args.session}" + (f" --resume {token}" if token else "")
        print(f"\nstopped; carry on with: {resume}", file=sys.stderr)
        return 130
    counts = session.status()["counts"]
    print(f"done: {counts['succeeded']} priced, {counts['failed']} failed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (TesseraError, UsageError) as error:
        print(f"python-client: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:  # while submitting: running it again submits nothing twice
        sys.exit(130)
