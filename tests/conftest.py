import pandas as pd

# Show whole tables in failure reports (hypothesis prints falsifying worlds).
pd.set_option("display.max_columns", None)
pd.set_option("display.width", 250)
