#!/usr/bin/env python3
"""Write a FileDescriptorSet of Viam's public API, taken from the viam-sdk wheel.

The viam-sdk Python package embeds each .proto file's serialized FileDescriptorProto in its generated
`*_pb2` modules; no .proto sources are needed. This helper imports the modules for the given root
files, walks their imports transitively (Google's well-known types and google/api included, so
protoc can resolve every name) and writes them, dependencies first, as one FileDescriptorSet.

Usage: viam_descriptors.py OUT.pb ROOT.proto [ROOT.proto ...]
       viam_descriptors.py --list-generate ROOT.proto [...]   # print the files to generate, one a line
       viam_descriptors.py --list-services ROOT.proto [...]   # print the roots that declare services

A root is named by its proto path (e.g. app/datasync/v1/data_sync.proto); its module is
viam.gen.<path with / as . and .proto as _pb2>. The output is deterministic: the same wheel gives the
same bytes.
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

EXPECTED_VIAM_SDK = "0.85.1"
# google/api/{annotations,http}.proto come from googleapis-common-protos, which viam-sdk does not pin;
# the committed code was generated with this version. Another one may change those two files.
MEASURED_GOOGLEAPIS_COMMON_PROTOS = "1.76.0"


def fail(message: str) -> NoReturn:
    print(f"viam_descriptors.py: error: {message}", file=sys.stderr)
    sys.exit(1)


def load_root(proto_path: str):
    if not proto_path.endswith(".proto"):
        fail(f"{proto_path!r} is not a .proto path (expected e.g. app/datasync/v1/data_sync.proto)")
    module_name = "viam.gen." + proto_path[: -len(".proto")].replace("/", ".") + "_pb2"
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        fail(f"cannot import {module_name} for {proto_path}: {error}. "
             f"Install the wheel with: pip install viam-sdk=={EXPECTED_VIAM_SDK}")
    descriptor = module.DESCRIPTOR
    if descriptor.name != proto_path:
        fail(f"{module_name} describes {descriptor.name!r}, not {proto_path!r}")
    return descriptor


def ordered_closure(roots):
    """Every file the roots import, transitively, each after all of its imports (stable order)."""
    ordered, state = [], {}

    def visit(file_descriptor, chain):
        name = file_descriptor.name
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            fail("import cycle: " + " -> ".join(chain + [name]))
        state[name] = "visiting"
        for dependency in file_descriptor.dependencies:
            visit(dependency, chain + [name])
        state[name] = "done"
        ordered.append(file_descriptor)

    for root in roots:
        visit(root, [])
    return ordered


def main(argv):
    list_only = list_services = False
    if argv and argv[0] == "--list-generate":
        list_only, argv = True, argv[1:]
        out_path = None
    elif argv and argv[0] == "--list-services":
        list_services, argv = True, argv[1:]
        out_path = None
    else:
        if len(argv) < 2:
            fail("usage: viam_descriptors.py OUT.pb ROOT.proto [ROOT.proto ...]")
        out_path, argv = argv[0], argv[1:]
    if not argv:
        fail("no root .proto files given")

    try:
        from google.protobuf import descriptor_pb2
        import viam
    except ImportError as error:
        fail(f"{error}. Install the wheel with: pip install viam-sdk=={EXPECTED_VIAM_SDK}")
    version = getattr(viam, "__version__", None)
    if version is not None and version != EXPECTED_VIAM_SDK:
        fail(f"viam-sdk {version} is installed; the committed code is generated from "
             f"{EXPECTED_VIAM_SDK}: pip install viam-sdk=={EXPECTED_VIAM_SDK}")

    try:
        from importlib.metadata import version as installed_version
        googleapis = installed_version("googleapis-common-protos")
    except Exception:  # not installed as a distribution: the import of google.api will say so
        googleapis = None
    if googleapis is not None and googleapis != MEASURED_GOOGLEAPIS_COMMON_PROTOS:
        print(f"viam_descriptors.py: warning: googleapis-common-protos {googleapis} is installed; the "
              f"committed google/api code came from {MEASURED_GOOGLEAPIS_COMMON_PROTOS} "
              f"(pip install googleapis-common-protos=={MEASURED_GOOGLEAPIS_COMMON_PROTOS} to match)",
              file=sys.stderr)

    if list_services:
        for path in argv:
            if load_root(path).services_by_name:
                print(path)
        return

    files = ordered_closure([load_root(path) for path in argv])

    if list_only:
        for file_descriptor in files:
            if not file_descriptor.name.startswith("google/protobuf/"):
                print(file_descriptor.name)
        return

    descriptor_set = descriptor_pb2.FileDescriptorSet()
    for file_descriptor in files:
        proto = descriptor_set.file.add()
        proto.ParseFromString(file_descriptor.serialized_pb)
        if proto.name != file_descriptor.name:
            fail(f"embedded descriptor of {file_descriptor.name} names itself {proto.name}")
    with open(out_path, "wb") as out:
        out.write(descriptor_set.SerializeToString(deterministic=True))
    print(f"viam_descriptors.py: wrote {len(files)} files to {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
