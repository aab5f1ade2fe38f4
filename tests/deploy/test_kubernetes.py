#!/usr/bin/env python3
"""lint.kubernetes: deploy/kubernetes against the programs and against itself.

Usage: test_kubernetes.py SOURCE_DIR BUILD_DIR

Reads every manifest of deploy/kubernetes (PyYAML) and the built programs'
option tables (`<program> --help` in BUILD_DIR), and checks:
1. kustomization.yaml lists every manifest but the *.example.yaml ones (the
   Secret template, kept out so that an apply never overwrites the real
   Secret) and nothing else; every object is in the Namespace of the
   manifests and carries app.kubernetes.io/part-of: chiso.
2. Each Deployment runs image chiso:<project version> with a program that
   `cmake --install` installs (an install() rule in the build); its labels
   (name = the program, part-of, component) match its selector; its `-c`
   files are files mounted from the ConfigMap or the Secret, and they and
   its arguments set only keys the program's table has, with values of
   the row's type; passwords and tokens come only from Secret files, and a
   program listening beyond loopback that has a bearer token gets it there.
3. Every listening port (a `<x>.port` key with an `<x>.bind` key) is bound
   beyond loopback and declared as a containerPort named `<x>`, and every
   containerPort is one of them; the readiness and liveness probes (and a
   startup probe, if any) ask /healthz on a declared port.
4. Resources have cpu and memory requests and limits (requests <= limits);
   the security context (pod or container) runs as non-root with the UID of
   the Dockerfile's USER, no privilege escalation, a read-only root
   filesystem, no capability, the RuntimeDefault seccomp profile; the
   termination grace period is set.
5. Volume mounts name volumes, and every ConfigMap and Secret a volume
   uses, and every key of it, exists in the manifests.
6. Services and PodDisruptionBudgets select Deployments' pods; a Service's
   target ports exist on the pods it selects; a PDB lets a drain evict a pod.
7. The Dockerfile: its runtime stage runs as a numeric non-root USER made by
   its useradd; its packages, or what they depend on, hold every shared
   library the installed programs need (readelf, dpkg); the build stage
   installs only packages of deploy/local/deps.sh.
Exits 1 listing every problem found.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

import yaml

PROBLEMS = []


def problem(msg):
    if msg not in PROBLEMS:  # a file several pods read is checked for each
        PROBLEMS.append(msg)


# ---- the programs -------------------------------------------------------------

INSTALL_RULE = re.compile(r'TYPE EXECUTABLE FILES "([^"]+)"')
HELP_ROW = re.compile(r"^\s+--(\S+)\s+(\w+)\s+(.*)$")
HELP_DEFAULT = re.compile(r"\(default: (.*)\)$")


def installed_programs(build):
    """{name: path} of the executables `cmake --install` installs (this
    build tree's: a build nested in it, like the fuzz targets' under
    tests/fuzz, has its own CMakeCache.txt and is skipped)."""
    out = {}
    for root, dirs, files in os.walk(build):
        if root != build and "CMakeCache.txt" in files:
            dirs[:] = []
            continue
        if "cmake_install.cmake" not in files:
            continue
        with open(os.path.join(root, "cmake_install.cmake"), encoding="utf-8") as f:
            for exe in INSTALL_RULE.findall(f.read()):
                out[os.path.basename(exe)] = exe
    return out


def option_table(path):
    """{key: (type, default or None, description)} from `path --help`."""
    res = subprocess.run([path, "--help"], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        problem(f"{path} --help exited {res.returncode}: {res.stderr.strip()}")
        return {}
    table = {}
    for line in res.stdout.splitlines():
        m = HELP_ROW.match(line)
        if not m:
            continue
        key, typ, desc = m.groups()
        d = HELP_DEFAULT.search(desc)
        default = None if not d else ("" if d.group(1) == '""' else d.group(1))
        table[key] = (typ, default, desc)
    if not table:
        problem(f"{path} --help lists no option")
    return table


def project_version(build):
    """project()'s VERSION, from the build's cache."""
    with open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8") as f:
        m = re.search(r"^CMAKE_PROJECT_VERSION:\w+=(.*)$", f.read(), re.M)
    return m.group(1) if m else None


# ---- key = value files, as core/adapters/src/config.c reads them ---------------

def conf_lines(text, where):
    """[(key, value, 'where:line')] of a `key = value` file."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if "=" not in s:
            problem(f"{where}:{n}: expected 'key = value'")
            continue
        key, value = s.split("=", 1)
        out.append((key.strip(), value.strip(), f"{where}:{n}"))
    return out


def type_ok(typ, value):
    """Whether config.c would take `value` for a row of type `typ`."""
    if typ == "int":
        return re.fullmatch(r"[+-]?\d+", value) is not None
    if typ == "double":
        try:
            float(value)
        except ValueError:
            return False
    return True


def is_secret_key(key):
    """Passwords and tokens (kafka.sasl.password too) belong in the Secret."""
    return key.rsplit(".", 1)[-1] in ("password", "token")


def is_loopback(addr):
    return addr in ("localhost", "::1") or addr.startswith("127.")


def command_line(args, table, where):
    """[(kind, key or file, value)] of a program's arguments, as config.c
    scans them: ('file', path, None) for -c, ('set', key, value) otherwise."""
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a in ("-c", "-X") or (a[:2] in ("-c", "-X") and len(a) > 2):
            v = a[2:] if len(a) > 2 else (args[i + 1] if i + 1 < len(args) else None)
            i += 1 if len(a) > 2 else 2
            if v is None:
                problem(f"{where}: {a} needs an argument")
            elif a.startswith("-c"):
                out.append(("file", v, None))
            elif "=" not in v:
                problem(f"{where}: -X expects key=value, got '{v}'")
            else:
                out.append(("set",) + tuple(v.split("=", 1)))
            continue
        if a.startswith("--") and "=" in a:
            out.append(("set",) + tuple(a[2:].split("=", 1)))
            i += 1
            continue
        if a.startswith("--"):
            key = a[2:]
            bool_word = i + 1 < len(args) and args[i + 1].lower() in (
                "true", "false", "1", "0", "yes", "no", "on", "off")
            if table.get(key, ("",))[0] == "bool" and not bool_word:
                out.append(("set", key, "true"))
                i += 1
            else:
                out.append(("set", key, args[i + 1] if i + 1 < len(args) else ""))
                i += 2
            continue
        problem(f"{where}: unexpected argument '{a}'")
        i += 1
    return out


# ---- quantities ---------------------------------------------------------------

UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
         "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(q):
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(q))
    if not m or m.group(2) not in UNITS:
        return None
    return float(m.group(1)) * UNITS[m.group(2)]


# ---- the manifests ------------------------------------------------------------

def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_of(dep):
    return dep["spec"]["template"]


def port_of(container, port):
    """The containerPort a probe or Service port (name or number) names."""
    for p in container.get("ports", []):
        if port in (p.get("name"), p.get("containerPort")):
            return p["containerPort"]
    return None


def mounted_files(dep, objects, where):
    """{path in the container: (kind, object name, key)} of the files the
    pod's ConfigMap, Secret and projected volumes put there."""
    spec = pod_of(dep)["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    out = {}
    for c in spec["containers"]:
        for m in c.get("volumeMounts", []):
            vol = volumes.get(m["name"])
            if vol is None:
                problem(f"{where}: volumeMount '{m['name']}' names no volume")
                continue
            sources = vol["projected"]["sources"] if "projected" in vol else [vol]
            for src in sources:
                for kind in ("configMap", "secret"):
                    if kind not in src:
                        continue
                    ref = src[kind]
                    name = ref.get("name") or ref.get("secretName")
                    obj = objects.get(("ConfigMap" if kind == "configMap" else "Secret", name))
                    if obj is None:
                        problem(f"{where}: {kind} '{name}' is not in the manifests")
                        continue
                    items = ref.get("items") or [{"key": k, "path": k} for k in obj]
                    for it in items:
                        if it["key"] not in obj:
                            problem(f"{where}: {kind} '{name}' has no key '{it['key']}'")
                            continue
                        path = os.path.normpath(os.path.join(m["mountPath"], it["path"]))
                        out[path] = (kind, name, it["key"])
    return out


def check_deployment(dep, objects, programs, version, uid, where):
    name = dep["metadata"]["name"]
    where = f"{where}: Deployment {name}"
    pod = pod_of(dep)
    labels = pod["metadata"].get("labels", {})
    for k in ("app.kubernetes.io/name", "app.kubernetes.io/component",
              "app.kubernetes.io/part-of"):
        if not labels.get(k):
            problem(f"{where}: the pod has no label {k}")
    if not selects(dep["spec"]["selector"].get("matchLabels"), labels):
        problem(f"{where}: the selector does not match the pod's labels")
    spec = pod["spec"]
    if not isinstance(spec.get("terminationGracePeriodSeconds"), int):
        problem(f"{where}: no terminationGracePeriodSeconds")
    if len(spec["containers"]) != 1:
        problem(f"{where}: expected one container")
    c = spec["containers"][0]

    if c.get("image") != f"chiso:{version}":
        problem(f"{where}: image '{c.get('image')}', expected 'chiso:{version}'")
    command = c.get("command") or []
    program = command[0] if command else None
    if program not in programs:
        problem(f"{where}: command {command} is not a program `cmake --install` installs")
        return
    if labels.get("app.kubernetes.io/name") != program:
        problem(f"{where}: label app.kubernetes.io/name is not the program {program}")
    table = option_table(programs[program])
    if not table:
        return

    # the configuration as the program reads it: the -c files in their
    # order, then the command line (config.c)
    files = mounted_files(dep, objects, where)
    from_files, from_args = [], []  # (key, value, where, from a Secret)
    for kind, key, value in command_line(command[1:] + (c.get("args") or []), table, where):
        if kind == "set":
            from_args.append((key, value, f"{where}: argument --{key}", False))
            continue
        mounted = files.get(os.path.normpath(key))
        if mounted is None:
            problem(f"{where}: -c {key} is no file mounted from a ConfigMap or Secret")
            continue
        okind, oname, okey = mounted
        text = objects[("ConfigMap" if okind == "configMap" else "Secret", oname)][okey]
        from_files += [(k, v, at, okind == "secret")
                       for k, v, at in conf_lines(text, f"{okind} {oname} {okey}")]
    config = {k: d for k, (t, d, _) in table.items()}
    from_secret = set()
    for key, value, at, secret in from_files + from_args:
        if key not in table and not key.startswith("kafka."):
            problem(f"{at}: {program} has no option '{key}'")
            continue
        if key in table and not type_ok(table[key][0], value):
            problem(f"{at}: {key} '{value}' is not of type {table[key][0]}")
        if is_secret_key(key) and not secret:
            problem(f"{at}: {key} is a secret: set it in a file of the Secret")
        if secret:
            from_secret.add(key)
        config[key] = value

    # listening ports, probes
    declared = {p.get("containerPort"): p.get("name") for p in c.get("ports", [])}
    listening, open_binds = set(), set()
    for key in table:
        side = key[:-len(".port")]
        if not key.endswith(".port") or side + ".bind" not in table:
            continue
        port, bind = config.get(key), config.get(side + ".bind") or ""
        if port in (None, "0") or not type_ok("int", port):
            continue
        port = int(port)
        listening.add(port)
        if is_loopback(bind):
            problem(f"{where}: {side}.bind is {bind}: the probes and Prometheus cannot reach it")
        else:
            open_binds.add(bind)
        if port not in declared:
            problem(f"{where}: {key} {port} is not a containerPort")
        elif declared[port] != side:
            problem(f"{where}: containerPort {port} ({key}) should be named '{side}'")
    bearer = [k for k, (_, _, desc) in table.items()
              if k.endswith(".token") and "bearer token" in desc]
    for k in bearer if open_binds else []:
        if k not in from_secret:
            problem(f"{where}: listening on {', '.join(sorted(open_binds))}, {program} needs "
                    f"{k} from a file of the Secret")
    for p in declared:
        if p not in listening:
            problem(f"{where}: containerPort {p} is no port {program} listens on")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        spec_probe = c.get(probe)
        if spec_probe is None:
            if probe != "startupProbe":
                problem(f"{where}: no {probe}")
            continue
        get = spec_probe.get("httpGet") or {}
        if get.get("path") != "/healthz":
            problem(f"{where}: {probe} does not ask /healthz")
        if port_of(c, get.get("port")) is None:
            problem(f"{where}: {probe} port {get.get('port')} is not a containerPort")

    # resources
    res = c.get("resources", {})
    for what in ("cpu", "memory"):
        req = quantity(res.get("requests", {}).get(what))
        lim = quantity(res.get("limits", {}).get(what))
        if req is None or lim is None:
            problem(f"{where}: {what} request and limit must both be set")
        elif req > lim:
            problem(f"{where}: {what} request above its limit")

    # security context: the container's settings over the pod's
    sc = dict(spec.get("securityContext", {}))
    sc.update(c.get("securityContext", {}))
    expected = {"runAsNonRoot": True, "runAsUser": uid, "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True}
    for k, v in expected.items():
        if sc.get(k) != v:
            problem(f"{where}: securityContext {k} is {sc.get(k)!r}, expected {v!r}")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []):
        problem(f"{where}: securityContext does not drop ALL capabilities")
    if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem(f"{where}: seccompProfile is not RuntimeDefault")


def check_service(svc, deployments, where):
    where = f"{where}: Service {svc['metadata']['name']}"
    selected = [d for d in deployments if selects(svc["spec"].get("selector"),
                                                  pod_of(d)["metadata"].get("labels", {}))]
    if not selected:
        problem(f"{where}: selects no Deployment's pods")
    ports = svc["spec"].get("ports", [])
    for p in ports:
        target = p.get("targetPort", p.get("port"))
        if not any(port_of(pod_of(d)["spec"]["containers"][0], target) for d in selected):
            problem(f"{where}: target port {target} is on none of the pods it selects")
    for d in selected:
        c = pod_of(d)["spec"]["containers"][0]
        if not any(port_of(c, p.get("targetPort", p.get("port"))) for p in ports):
            problem(f"{where}: none of its ports is on {d['metadata']['name']}'s pods")


def check_pdb(pdb, deployments, where):
    where = f"{where}: PodDisruptionBudget {pdb['metadata']['name']}"
    selected = [d for d in deployments
                if selects(pdb["spec"].get("selector", {}).get("matchLabels"),
                           pod_of(d)["metadata"].get("labels", {}))]
    if not selected:
        problem(f"{where}: selects no Deployment's pods")
    spec = pdb["spec"]
    for d in selected:
        replicas = d["spec"].get("replicas", 1)
        if "minAvailable" in spec and spec["minAvailable"] >= replicas:
            problem(f"{where}: minAvailable {spec['minAvailable']} of {replicas} replicas "
                    "blocks every drain")
    if spec.get("maxUnavailable", 1) < 1:
        problem(f"{where}: maxUnavailable 0 blocks every drain")


# ---- the Dockerfile -----------------------------------------------------------

def dockerfile_stages(path):
    """[[(instruction, arguments)]] per stage, continuation lines joined."""
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        if instr.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instr.upper(), rest.strip()))
    return stages


def apt_packages(stage):
    pkgs = []
    for instr, rest in stage:
        if instr != "RUN":
            continue
        for part in re.split(r"&&|;", rest):
            words = part.split()
            if words[:2] == ["apt-get", "install"]:
                pkgs += [w for w in words[2:] if not w.startswith("-")]
    return pkgs


def deps_packages(source):
    with open(os.path.join(source, "deploy", "local", "deps.sh"), encoding="utf-8") as f:
        block = re.search(r"^PACKAGES=\((.*?)^\)", f.read(), re.S | re.M).group(1)
    return {w for line in block.splitlines() for w in line.split("#")[0].split()}


def needed_libraries(exe):
    """{soname: path} of the shared libraries `exe` itself names (readelf),
    where the loader finds them here (ldd)."""
    elf = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True, check=True)
    found = subprocess.run(["ldd", exe], capture_output=True, text=True, check=True)
    paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", found.stdout, re.M))
    # a sanitizer build (./test.sh --sanitize) also needs the sanitizers'
    # runtimes, which no image ships: the image builds without them
    return {so: paths.get(so)
            for so in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", elf.stdout)
            if not re.match(r"lib(asan|ubsan|lsan|tsan)\.so", so)}


def package_owners(paths):
    """{path: the Debian package holding it} (one dpkg -S; with /usr merged
    dpkg may know a file under another of its names)."""
    names = {}
    for path in paths:
        for name in (path, os.path.realpath(path), "/usr" + path):
            names.setdefault(name, path)
    res = subprocess.run(["dpkg", "-S"] + sorted(names), capture_output=True, text=True,
                         check=False)
    owners = {}
    for line in res.stdout.splitlines():
        pkg, _, name = line.partition(": ")
        if name in names:
            owners.setdefault(names[name], pkg.split(":")[0])
    return owners


def package_depends(pkg):
    res = subprocess.run(["dpkg-query", "-W", "-f", "${Depends}", pkg], capture_output=True,
                         text=True, check=False)
    return {re.split(r"[ (:]", d.strip())[0] for alt in res.stdout.split(",")
            for d in alt.split("|") if d.strip()}


def check_dockerfile(path, source, programs):
    """Returns the runtime user's UID (or None)."""
    stages = dockerfile_stages(path)
    if len(stages) < 2:
        problem(f"{path}: expected a build stage and a runtime stage")
        return None
    build, runtime = stages[0], stages[-1]
    known = deps_packages(source)
    for pkg in apt_packages(build):
        if pkg not in known:
            problem(f"{path}: the build stage installs {pkg}, not in deploy/local/deps.sh")

    users = [rest for instr, rest in runtime if instr == "USER"]
    m = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1]) if users else None
    if not m or int(m.group(1)) == 0:
        problem(f"{path}: the runtime stage needs a numeric non-root USER")
        return None
    uid = int(m.group(1))
    runs = " ".join(rest for instr, rest in runtime if instr == "RUN")
    made = re.search(r"useradd\b[^&;]*?(?:--uid|-u)\s+(\d+)", runs)
    if not made or int(made.group(1)) != uid:
        problem(f"{path}: USER {uid} is not the user its useradd makes")

    wanted = set(apt_packages(runtime))
    provided = set(wanted)
    for pkg in wanted:
        provided |= package_depends(pkg)
    needed = {program: needed_libraries(exe) for program, exe in programs.items()}
    owners = package_owners({p for libs in needed.values() for p in libs.values() if p})
    for program, libs in sorted(needed.items()):
        for soname, path in sorted(libs.items()):
            owner = owners.get(path)
            if owner is None:
                problem(f"{program} needs {soname}, which no Debian package holds here")
            elif owner not in provided:
                problem(f"{program} needs {soname} ({owner}): not in the Dockerfile's "
                        "runtime stage")
    return uid


# ---- main ---------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(
        description="Check deploy/kubernetes against the built programs (lint.kubernetes).")
    ap.add_argument("source", help="the source tree")
    ap.add_argument("build", help="a build tree of it (the programs, CMakeCache.txt)")
    args = ap.parse_args()
    kdir = os.path.join(args.source, "deploy", "kubernetes")

    programs = installed_programs(args.build)
    for name, exe in sorted(programs.items()):
        if not os.access(exe, os.X_OK):
            problem(f"{exe} is not built: build the tree first")
            del programs[name]
    version = project_version(args.build)
    uid = check_dockerfile(os.path.join(kdir, "Dockerfile"), args.source, programs)

    with open(os.path.join(kdir, "kustomization.yaml"), encoding="utf-8") as f:
        kust = yaml.safe_load(f)
    listed = kust.get("resources", [])
    manifests = sorted(os.path.basename(p) for p in glob.glob(os.path.join(kdir, "*.yaml"))
                       if os.path.basename(p) != "kustomization.yaml")
    examples = [m for m in manifests if m.endswith(".example.yaml")]
    for m in manifests:
        if m not in examples and m not in listed:
            problem(f"kustomization.yaml does not list {m}")
    for m in listed:
        if m not in manifests or m in examples:
            problem(f"kustomization.yaml lists {m}: "
                    + ("an example, never applied" if m in examples else "no such manifest"))

    docs = []  # (file, object)
    for m in manifests:
        docs += [(m, d) for d in load_docs(os.path.join(kdir, m))]
    objects = {}
    for m, d in docs:
        if d["kind"] in ("ConfigMap", "Secret"):
            data = dict(d.get("data") or {})
            data.update(d.get("stringData") or {})
            objects[(d["kind"], d["metadata"]["name"])] = data
    namespaces = [d["metadata"]["name"] for _, d in docs if d["kind"] == "Namespace"]
    if len(namespaces) != 1 or kust.get("namespace") != namespaces[0]:
        problem(f"expected one Namespace, the kustomization's: {namespaces}")
    for m, d in docs:
        meta = d["metadata"]
        if d["kind"] != "Namespace" and meta.get("namespace") not in namespaces:
            problem(f"{m}: {d['kind']} {meta['name']} is not in the namespace {namespaces}")
        if meta.get("labels", {}).get("app.kubernetes.io/part-of") != "chiso":
            problem(f"{m}: {d['kind']} {meta['name']} has no label part-of: chiso")

    deployments = [d for _, d in docs if d["kind"] == "Deployment"]
    if not deployments:
        problem("no Deployment")
    for m, d in docs:
        if d["kind"] == "Deployment":
            check_deployment(d, objects, programs, version, uid, m)
        elif d["kind"] == "Service":
            check_service(d, deployments, m)
        elif d["kind"] == "PodDisruptionBudget":
            check_pdb(d, deployments, m)

    for p in PROBLEMS:
        print(f"FAIL {p}")
    kinds = sorted({d["kind"] for _, d in docs})
    print(f"lint.kubernetes: {len(docs)} objects ({', '.join(kinds)}) in {len(manifests)} "
          f"files, {len(deployments)} Deployments: {len(PROBLEMS)} problems")
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
