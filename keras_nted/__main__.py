import sys

from keras_nted.cli import main

sys.exit(main())
