"""How `NTEDGAN.fit` resumes mid-epoch: the rest of an epoch as a data set, two `fit` calls as one run."""

import keras


class OneRun(keras.callbacks.CallbackList):
    """Callbacks shared by consecutive `fit` calls that make one run.

    `on_train_begin` reaches the callbacks at the first call only; `on_train_end` is held
    back until `end()`, which passes on the last call's logs.
    """

    _began = False
    _end_logs = None

    def on_train_begin(self, logs=None):
        if not self._began:
            self._began = True
            super().on_train_begin(logs)

    def on_train_end(self, logs=None):
        self._end_logs = logs

    def end(self):
        if self._began:
            self._began = False
            super().on_train_end(self._end_logs)


class SkipBatches(keras.utils.PyDataset):
    """`data` without its first `skip` batches (the rest of an interrupted epoch)."""

    def __init__(self, data, skip):
        super().__init__(workers=data.workers, use_multiprocessing=data.use_multiprocessing,
                         max_queue_size=data.max_queue_size)  # fmt: skip
        self.data = data
        self.skip = int(skip)

    def __len__(self):
        return len(self.data) - self.skip

    def __getitem__(self, index):
        return self.data[self.skip + index]

    def on_epoch_begin(self):
        self.data.on_epoch_begin()

    def on_epoch_end(self):
        self.data.on_epoch_end()
