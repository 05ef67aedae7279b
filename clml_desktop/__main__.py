import sys

from clml_desktop.app import main

sys.exit(main())
