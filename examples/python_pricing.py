"""Black-Scholes pricing as a warm Python worker task, ``price-py``, for ``tessera-agent --worker``
(docs/worker-protocol.md): the process starts once and prices task after task, where
``--command "python3 examples/pricer.py"`` starts an interpreter per task.

    PYTHONPATH=packages/python/src tessera-agent --pools py --concurrency 4 \\
        --worker "python3 -m tessera.worker examples/python_pricing.py"

Input: the fields of examples/option-pricing.ts (kind, spot, strike, rate, volatility, maturity);
the maths is examples/pricer.py's, imported (tessera.worker puts this file's folder on sys.path).
"""

from pricer import price

from tessera.worker import current, task


@task("price-py")
def price_py(option):
    if not isinstance(option, dict):
        raise ValueError("the payload must be a JSON object")
    result = price(option)
    current().logger.debug("priced", kind=option.get("kind", "call"), price=result["price"])
    return result
