"""A compile cache for the kernel modules (CMake's C compiler launcher).

pip builds each install in a new isolated environment, and scikit-build-core
then clears the CMake cache and CMakeFiles/, where the object files live, so
a second ``pip install`` of the same sources recompiles everything (the
README's second command, ``pip install ".[test]"``, after the first,
``pip install .``). This launcher keeps each object file under the build
directory, keyed by a hash of the preprocessed source, the compile flags and
the compiler, and copies it back when the key matches; anything it cannot
handle runs the compiler as given.

    python compile_cache.py CACHE_DIR compiler args...   (set by CMakeLists.txt)
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile


def _compiler_identity(compiler):
    path = shutil.which(compiler) or compiler
    try:
        st = os.stat(os.path.realpath(path))
    except OSError:
        return path
    return f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}"


def _key(cache_dir, command, out):
    """The cache key of a compile (None: not cacheable), from the source
    preprocessed with the same flags (which also writes its depfile)."""
    if "-c" not in command or command.count("-o") != 1:
        return None
    fd, preprocessed = tempfile.mkstemp(suffix=".i", dir=cache_dir)
    os.close(fd)
    try:
        pre = [("-E" if a == "-c" else a) for a in command]
        pre[pre.index("-o") + 1] = preprocessed
        if subprocess.run(pre).returncode != 0:
            return None
        digest = hashlib.sha256()
        flags = [a for a in command if a != out]
        digest.update("\0".join(flags).encode())
        digest.update(_compiler_identity(command[0]).encode())
        with open(preprocessed, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    finally:
        os.unlink(preprocessed)


def main(argv):
    cache_dir, command = argv[0], argv[1:]
    try:
        out = command[command.index("-o") + 1]
        os.makedirs(cache_dir, exist_ok=True)
        key = _key(cache_dir, command, out)
    except (ValueError, IndexError, OSError):
        key = None
    if key is None:
        return subprocess.run(command).returncode
    cached = os.path.join(cache_dir, key + ".o")
    if os.path.exists(cached):
        shutil.copyfile(cached, out)
        return 0
    code = subprocess.run(command).returncode
    if code == 0:
        partial = cached + f".{os.getpid()}.tmp"
        shutil.copyfile(out, partial)
        os.replace(partial, cached)
        _prune(cache_dir)
    return code


def _prune(cache_dir, keep=16):
    """Keep the newest ``keep`` objects (a few builds' worth)."""
    objects = [os.path.join(cache_dir, name) for name in os.listdir(cache_dir)
               if name.endswith(".o")]
    objects.sort(key=lambda path: os.stat(path).st_mtime_ns, reverse=True)
    for path in objects[keep:]:
        try:
            os.unlink(path)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
