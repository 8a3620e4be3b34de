"""`python -m makegood.desk --host 127.0.0.1 --port 8000`"""

import sys

from makegood.desk import serve

sys.exit(serve())
