"""From forecast to shelf: stock and policy inputs, replenishment proposals, a policy simulation
on the backtests, and planner overrides with forecast value added. No Streamlit here: the
Replenishment page and the CLI are thin layers over these modules."""
