"""Checks a template as `sam package` wrote it (JSON) against the source template, for the deploy
rehearsal (scripts/rehearse-deploy):

- it keeps the transforms, so CloudFormation still expands the loops and SAM's resources;
- its loops make every resource the source's loops make, with the same types, and nothing of
  the source is missing;
- every function's code is an object in the bucket;
- the function that was built is a zip holding an executable `bootstrap`, byte for byte the one
  `sam build` made, a position-dependent ELF executable for this machine's architecture.

    python scripts/check_packaged.py template.yaml packaged.json BUCKET FUNCTION BOOTSTRAP

Reads the bucket through boto3 (AWS_ENDPOINT_URL names the emulator). Prints one line per check.
"""

import hashlib
import io
import json
import platform
import sys
import zipfile

import boto3
from cfnlint.decode import cfn_yaml

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from expand_template import expanded  # noqa: E402

# ELF e_machine of the architectures Lambda runs.
MACHINES = {"x86_64": 62, "aarch64": 183, "arm64": 183}


def fail(message):
    print(f"packaged template: {message}", file=sys.stderr)
    sys.exit(1)


def main(source_path, packaged_path, bucket, built, bootstrap_path):
    source = cfn_yaml.load(source_path)
    with open(packaged_path) as f:
        packaged = json.load(f)

    if packaged.get("Transform") != source["Transform"]:
        fail(f"transforms {packaged.get('Transform')} instead of {source['Transform']}")
    loops = [name for name in packaged["Resources"] if name.startswith("Fn::ForEach::")]
    if sorted(loops) != sorted(n for n in source["Resources"] if n.startswith("Fn::ForEach::")):
        fail(f"loops {loops}")
    want = {name: r["Type"] for name, r in expanded(source["Resources"]).items()}
    have = {name: r["Type"] for name, r in expanded(packaged["Resources"]).items()}
    if want != have:
        missing = sorted(set(want) - set(have))
        changed = sorted(n for n in set(want) & set(have) if want[n] != have[n])
        fail(f"missing {missing}, added {sorted(set(have) - set(want))}, retyped {changed}")
    made = len(have) - len([n for n in source["Resources"] if not n.startswith("Fn::ForEach::")])
    print(f"ok: {len(loops)} loops make {made} resources; {len(have)} resources in all, as in the source")

    functions = {n: r for n, r in expanded(packaged["Resources"]).items() if r["Type"] == "AWS::Serverless::Function"}
    if built not in functions:
        fail(f"{built} is not a function of the template")
    s3 = boto3.client("s3")
    for name, function in sorted(functions.items()):
        uri = function["Properties"].get("CodeUri", "")
        prefix = f"s3://{bucket}/"
        if not isinstance(uri, str) or not uri.startswith(prefix):
            fail(f"{name}'s code is {uri!r}, not an object in s3://{bucket}")
        s3.head_object(Bucket=bucket, Key=uri[len(prefix):])
    print(f"ok: the code of all {len(functions)} functions is uploaded to s3://{bucket}")

    uri = functions[built]["Properties"]["CodeUri"]
    artifact = s3.get_object(Bucket=bucket, Key=uri[len(f"s3://{bucket}/"):])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(artifact)) as archive:
        entry = archive.getinfo("bootstrap")
        binary = archive.read(entry)
    mode = entry.external_attr >> 16
    if not mode & 0o111:
        fail(f"{built}'s bootstrap is not executable (mode {oct(mode)})")
    with open(bootstrap_path, "rb") as f:
        if hashlib.sha256(f.read()).digest() != hashlib.sha256(binary).digest():
            fail(f"{built}'s uploaded bootstrap is not the one sam build made")
    kind, machine = int.from_bytes(binary[16:18], "little"), int.from_bytes(binary[18:20], "little")
    if binary[:4] != b"\x7fELF" or machine != MACHINES[platform.machine()]:
        fail(f"{built}'s bootstrap is not an ELF for {platform.machine()} (e_machine {machine})")
    # .cargo/config.toml links position-dependent executables (ET_EXEC), through zig too.
    if kind != 2:
        fail(f"{built}'s bootstrap is not a position-dependent executable (e_type {kind})")
    print(f"ok: {built} is uploaded as a zip with its executable bootstrap ({len(binary) // 1024} KiB, ELF {platform.machine()}, position-dependent)")


if __name__ == "__main__":
    main(*sys.argv[1:])
