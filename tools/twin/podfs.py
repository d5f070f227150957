"""A pod's filesystem on this machine, and the ONE place where the twin changes a path.

Each pod gets its own root folder. Its volumes are laid there as the kubelet lays them: a ConfigMap or Secret key
as a file (`subPath`) or every key as a folder, an emptyDir as a folder its containers share, a
PersistentVolumeClaim as the folder standing in for it (the DAGs: the bucket prefix the S3 CSI driver mounts).
So two pods never share a log folder: the API server, which mounts none, must read task logs from S3.

`rewrite_path` is the only change to paths: an absolute path under one of the pod's mount paths, its
AIRFLOW_HOME or a file of the image (`/entrypoint`) gets the pod's root in front. Commands, env values, probe
commands and the files mounted from ConfigMaps go through it; nothing else about them changes.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

from .errors import TwinError
from .files import write_private
from .manifests import Workload, config_map_data, secret_value

Transform = Callable[[str, str, str], str]

# Files of the official Airflow image that the chart's commands and probes call. The stand-in of /entrypoint runs
# its arguments (the image's also waits for the database first; the init containers and Jobs do that here).
IMAGE_FILES = {"/entrypoint": '#!/bin/sh\nexec "$@"\n'}


class PodFilesystem:
    def __init__(self, root: Path, workload: Workload, home: str | None):
        self.root, self.workload = root, workload
        mounts = {m["mountPath"] for c in [*workload.init_containers(), *workload.containers()]
                  for m in c.spec.get("volumeMounts", [])}
        prefixes = {p.rstrip("/") for p in mounts | set(IMAGE_FILES) | ({home} if home else set())}
        # Longest first, so /opt/airflow/dags is matched before /opt/airflow.
        self.prefixes = sorted(prefixes, key=len, reverse=True)
        self._pattern = re.compile(r"(?<![\w./-])(" + "|".join(re.escape(p) for p in self.prefixes) + r")(?=$|[/\s'\";:=,)])")

    def rewrite_path(self, text: str) -> str:
        """Every path under the pod's mount paths, home or image files, inside `text`, moved under the pod's root."""
        return self._pattern.sub(lambda m: f"{self.root}{m.group(1)}", text)

    def local(self, path: str) -> Path:
        return Path(self.rewrite_path(path))

    def lay_out(self, manifests: list[dict[str, Any]], secrets: Callable[[str], dict[str, str] | None],
                claims: dict[str, Path], transform: Transform | None = None) -> None:
        """Every volume mount of every container, and the image's own files, under the pod's root. `transform`
        (source, key, text) -> text sees each file laid from a ConfigMap or Secret (the endpoint rewrites)."""
        self._transform = transform or (lambda _source, _key, text: text)
        self.root.mkdir(parents=True, exist_ok=True)
        for path, content in IMAGE_FILES.items():
            target = self.root / path.lstrip("/")
            target.write_text(content)
            target.chmod(0o755)
        volumes = self.workload.volumes()
        for container in [*self.workload.init_containers(), *self.workload.containers()]:
            for mount in container.spec.get("volumeMounts", []):
                where = f"{container.where} volumeMount {mount['name']} ({mount['mountPath']})"
                volume = volumes.get(mount["name"])
                if volume is None:
                    raise TwinError(f"{where}: the pod has no volume {mount['name']!r}")
                self._mount(volume, mount, where, manifests, secrets, claims)

    def _mount(self, volume: dict[str, Any], mount: dict[str, Any], where: str, manifests, secrets, claims) -> None:
        target = self.root / mount["mountPath"].lstrip("/")
        sub = mount.get("subPath")
        if "configMap" in volume:
            data = config_map_data(manifests, volume["configMap"]["name"], where)
            self._files(target, sub, data, where, f"ConfigMap {volume['configMap']['name']}", private=False)
        elif "secret" in volume:
            name = volume["secret"]["secretName"]
            keys = [sub] if sub else sorted(secrets(name) or {})
            data = {key: secret_value(secrets, name, key, where) for key in keys}
            self._files(target, sub, data, where, f"Secret {name}", private=True)
        elif "emptyDir" in volume or "volumeClaimTemplate" in volume:  # a StatefulSet's own claim: the pod's alone
            shared = self.root.parent / f"{self.root.name}.volumes" / volume["name"]
            shared.mkdir(parents=True, exist_ok=True)
            _link(target, shared)
        elif "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            if claim not in claims:
                raise TwinError(f"{where}: PersistentVolumeClaim {claim} is not declared by the program "
                                f"(declared: {', '.join(sorted(claims)) or 'none'})")
            _link(target, claims[claim])
        else:
            raise TwinError(f"{where}: volume type {sorted(k for k in volume if k != 'name')} is not supported by the twin")

    def _files(self, target: Path, sub: str | None, data: dict[str, str], where: str, source: str, private: bool) -> None:
        if sub is not None and sub not in data:
            # The kubelet mounts an empty folder for a subPath its ConfigMap lacks; nothing reads it under Celery.
            target.mkdir(parents=True, exist_ok=True)
            return
        files = {target: data[sub]} if sub is not None else {target / key: value for key, value in data.items()}
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            text = self._transform(source, path.name if sub is None else sub, self.rewrite_path(content))
            if private:
                write_private(path, text)
            else:
                path.write_text(text)


def _link(target: Path, source: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        if target.resolve() == source.resolve():
            return
        shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
    os.symlink(source, target)
