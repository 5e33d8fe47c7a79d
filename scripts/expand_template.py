"""Writes a template as CloudFormation's LanguageExtensions transform expands it (its
Fn::ForEach loops, and a Ref or GetAtt naming a resource through Fn::Sub), as JSON on stdout,
for a linter that reads SAM templates but not the loops (checkov).

    python scripts/expand_template.py template.yaml > expanded.json
"""

import json
import sys

from cfnlint.decode import cfn_yaml


def put(value, identifier, item):
    """`value` with `${identifier}` and `&{identifier}` replaced by `item`, keys included."""
    if isinstance(value, str):
        return value.replace("${%s}" % identifier, item).replace("&{%s}" % identifier, item)
    if isinstance(value, list):
        return [put(v, identifier, item) for v in value]
    if isinstance(value, dict):
        return {put(k, identifier, item): put(v, identifier, item) for k, v in value.items()}
    return value


def plain_names(value):
    """`{"Ref": {"Fn::Sub": "Name"}}` as `{"Ref": "Name"}`, and GetAtt likewise."""
    if isinstance(value, list):
        return [plain_names(v) for v in value]
    if not isinstance(value, dict):
        return value
    value = {k: plain_names(v) for k, v in value.items()}
    ref = value.get("Ref")
    if isinstance(ref, dict) and isinstance(ref.get("Fn::Sub"), str):
        value["Ref"] = ref["Fn::Sub"]
    attr = value.get("Fn::GetAtt")
    if isinstance(attr, list) and isinstance(attr[0], dict) and isinstance(attr[0].get("Fn::Sub"), str):
        value["Fn::GetAtt"] = [attr[0]["Fn::Sub"], *attr[1:]]
    return value


def expanded(resources):
    """`resources` with every Fn::ForEach loop replaced by the resources it makes."""
    out = {}
    for name, resource in resources.items():
        if name.startswith("Fn::ForEach::"):
            identifier, items, fragment = resource
            for item in items:
                out.update(put(fragment, identifier, item))
        else:
            out[name] = resource
    return plain_names(out)


def main(path):
    template = cfn_yaml.load(path)
    template["Resources"] = expanded(template["Resources"])
    transforms = template.get("Transform", [])
    if isinstance(transforms, list):
        rest = [t for t in transforms if t != "AWS::LanguageExtensions"]
        template["Transform"] = rest[0] if len(rest) == 1 else rest
    json.dump(template, sys.stdout, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
