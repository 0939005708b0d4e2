"""TypeScript/JavaScript, Go, Rust and Java change facts on snippets shaped like real code."""

from __future__ import annotations

from tests.plan.facts.helpers import facts

TS = """\
import { parse } from "./parse";

export interface Options {
  timeout?: number;
}

export function createClient(
  baseUrl: string,
  options: Options = {},
): Client {
  return new Client(baseUrl, options);
}

function helper(a: number): number {
  return a + 1;
}
"""


def test_typescript_multi_line_parameters_and_exports() -> None:
    new = TS.replace("  options: Options = {},\n", "  options: Options = {},\n  retries = 2,\n")
    assert "surface.signature" in facts("src/client.ts", TS, new)
    typed = TS.replace("  baseUrl: string,\n", "  baseUrl: string | URL,\n")
    found = facts("src/client.ts", TS, typed)
    assert "surface.annotation" in found and "surface.signature" not in found
    gone = TS.replace("export function createClient(", "function createClient(")
    assert "surface.removed" in facts("src/client.ts", TS, gone)


def test_typescript_private_functions_and_jsdoc_deprecation() -> None:
    private = TS.replace("function helper(a: number)", "function helper(a: number, b = 1)")
    assert not any(f.startswith("surface.") for f in facts("src/client.ts", TS, private))
    deprecated = TS.replace(
        "export function createClient(",
        "/** @deprecated use connect() */\nexport function createClient(",
    )
    assert "surface.deprecation" in facts("src/client.ts", TS, deprecated)


def test_typescript_tls_and_a_prettier_run() -> None:
    tls = TS.replace(
        "  timeout?: number;\n", "  timeout?: number;\n  rejectUnauthorized: boolean;\n"
    )
    assert "security.tls" in facts("src/client.ts", TS, tls)
    pretty = TS.replace('"./parse"', "'./parse'").replace("  return a + 1;", "  return (a + 1);")
    assert list(facts("src/client.ts", TS, pretty)) == ["mechanical.format_only"]


def test_javascript_shell_and_a_package_import() -> None:
    old = "const path = require('path');\n\nexport function run(cmd) {\n  return cmd;\n}\n"
    new = old.replace("  return cmd;", "  return child_process.execSync(cmd);")
    assert "security.shell" in facts("lib/run.js", old, new)
    imported = 'import got from "got";\n' + old
    assert "imports.package_added" in facts("lib/run.js", old, imported)


GO = """\
package gin

import (
\t"net/http"
\t"sync"
)

// Engine is the framework's instance.
type Engine struct {
\tmu sync.Mutex
}

func (engine *Engine) Run(addr string) error {
\treturn http.ListenAndServe(addr, engine)
}

func resolveAddress(addr []string) string {
\treturn addr[0]
}
"""


def test_go_exported_names_are_public_surface() -> None:
    new = GO.replace("Run(addr string) error", "Run(addr ...string) error")
    assert "surface.signature" in facts("gin.go", GO, new)
    private = GO.replace(
        "resolveAddress(addr []string) string", "resolveAddress(addr []string, d string) string"
    )
    assert not any(f.startswith("surface.") for f in facts("gin.go", GO, private))
    deprecated = GO.replace("// Engine is the framework's instance.", "// Deprecated: use New.")
    assert "surface.deprecation" in facts("gin.go", GO, deprecated)


def test_go_tls_locks_and_third_party_imports() -> None:
    body = "\treturn http.ListenAndServe(addr, engine)\n"
    tls = GO.replace(body, "\tcfg := &tls.Config{InsecureSkipVerify: true}\n" + body)
    assert "security.tls" in facts("gin.go", GO, tls)
    locked = GO.replace(body, "\tengine.mu.Lock()\n\tdefer engine.mu.Unlock()\n" + body)
    assert "state.concurrency" in facts("gin.go", GO, locked)
    imported = GO.replace('\t"sync"\n', '\t"sync"\n\n\t"github.com/quic-go/quic-go/http3"\n')
    assert "imports.package_added" in facts("gin.go", GO, imported)
    stdlib = GO.replace('\t"sync"\n', '\t"strings"\n\t"sync"\n')
    assert "imports.package_added" not in facts("gin.go", GO, stdlib)


def test_gofmt_is_formatting_only() -> None:
    ugly = GO.replace("\treturn addr[0]\n", "\treturn   addr[ 0 ]\n")
    assert list(facts("gin.go", ugly, GO)) == ["mechanical.format_only"]


RUST = """\
use std::sync::Arc;

pub fn serve(listener: TcpListener, router: Router) -> Serve {
    Serve { listener, router }
}

fn private_helper(x: u32) -> u32 {
    x + 1
}
"""


def test_rust_public_functions_and_shared_state() -> None:
    new = RUST.replace("router: Router) -> Serve", "router: Router, signal: Signal) -> Serve")
    assert "surface.signature" in facts("src/serve.rs", RUST, new)
    private = RUST.replace("fn private_helper(x: u32)", "fn private_helper(x: u64)")
    assert not any(f.startswith("surface.") for f in facts("src/serve.rs", RUST, private))
    shared = RUST.replace("    x + 1\n", "    let state = Arc::new(Mutex::new(x));\n    x + 1\n")
    assert "state.concurrency" in facts("src/serve.rs", RUST, shared)
    formatted = RUST.replace(
        "Serve { listener, router }", "Serve {\n        listener,\n        router,\n    }"
    )
    assert list(facts("src/serve.rs", RUST, formatted)) == ["mechanical.format_only"]


JAVA = """\
package org.example;

public class Notifier {
    public void fireTestStarted(final Description description) {
        listeners.forEach(l -> l.testStarted(description));
    }

    private void helper(int x) {
        count += x;
    }
}
"""


def test_java_public_methods_concurrency_and_crypto() -> None:
    new = JAVA.replace(
        "fireTestStarted(final Description description)",
        "fireTestStarted(final Description description, long at)",
    )
    assert "surface.signature" in facts("src/main/java/Notifier.java", JAVA, new)
    private = JAVA.replace("helper(int x)", "helper(long x)")
    assert not any(
        f.startswith("surface.") for f in facts("src/main/java/Notifier.java", JAVA, private)
    )
    sync = JAVA.replace("    private void helper", "    private synchronized void helper")
    assert "state.concurrency" in facts("src/main/java/Notifier.java", JAVA, sync)
    digest = JAVA.replace(
        "        count += x;\n",
        "        MessageDigest md = MessageDigest.getInstance(ALG);\n        count += x;\n",
    )
    assert "security.crypto" in facts("src/main/java/Notifier.java", JAVA, digest)


def test_typescript_import_type_and_annotations_only() -> None:
    old = (
        'import { Options } from "./options";\n\n'
        "export function make(o: Options): Options {\n  return wrap<Options>(o);\n}\n"
    )
    new = (
        'import type { Options } from "./options";\n\n'
        "export function make(o: Options): Options {\n  const out: Options = wrap(o);\n"
        "  return out;\n}\n"
    )
    old = old.replace("return wrap<Options>(o);", "const out = wrap<Options>(o);\n  return out;")
    assert list(facts("src/make.ts", old, new)) == ["mechanical.annotations"]
    wider = new.replace("make(o: Options)", "make(o: Options | string)")
    assert "surface.annotation" in facts("src/make.ts", new, wider)


def test_typescript_null_prototype_objects_are_input_hardening() -> None:
    old = (
        "export function parse(q: string) {\n"
        "  const params: Record<string, string> = {}\n"
        "  return fill(params, q)\n}\n"
    )
    new = old.replace("= {}", "= Object.create(null)")
    assert "security.input" in facts("src/utils/url.ts", old, new)


def test_a_java_interface_method_added_below_a_cut_javadoc_is_public_surface() -> None:
    """The hunk starts inside one Javadoc and ends inside another; git names the interface."""
    doc = "".join(f"   * Line {n} of the strategy's documentation.\n" for n in range(8))
    old = (
        "package com.example;\n\nimport java.lang.reflect.Field;\n\n"
        "/**\n * Custom field naming.\n */\npublic interface NamingStrategy {\n"
        f"  /**\n{doc}   */\n  public String translateName(Field f);\n}}\n"
    )
    new = old.replace(
        "  public String translateName(Field f);\n",
        "  public String translateName(Field f);\n\n  /**\n   * Alternative names.\n   */\n"
        "  default List<String> alternateNames(Field f) {\n    return List.of();\n  }\n",
    )
    found = facts("src/main/java/com/example/NamingStrategy.java", old, new)
    assert "surface.added" in found, found
    assert "NamingStrategy.alternateNames" in found["surface.added"]


def test_a_public_constant_changes_value_in_each_language() -> None:
    cases = {
        "src/limits.py": ("import os\n\nMAX_DEPTH = 64\n_PRIVATE = 1\n", "64", "32"),
        "src/limits.ts": ("export const MAX_DEPTH = 64;\nconst local = 1;\n", "64", "32"),
        "limits.go": ("package limits\n\nconst MaxDepth = 64\n", "64", "32"),
        "src/limits.rs": ("pub const MAX_DEPTH: usize = 64;\n", "64", "32"),
        "src/main/java/a/Limits.java": (
            "package a;\n\npublic class Limits {\n"
            '    public static final String ENTITY_LIMIT = "jdk.xml.entityReplacementLimit";\n}\n',
            "entityReplacementLimit",
            "maxGeneralEntitySizeLimit",
        ),
    }
    for path, (old, before, after) in cases.items():
        found = facts(path, old, old.replace(before, after))
        assert "surface.constant" in found, (path, found)
    private = "import os\n\n_MAX_DEPTH = 64\n"
    assert "surface.constant" not in facts("src/p.py", private, private.replace("64", "32"))
    version = "__version__ = '1.0'\nVERSION = '1.0'\n"
    assert "surface.constant" not in facts("src/v.py", version, version.replace("1.0", "1.1"))
    enum = (
        "package a;\n\npublic enum Feature {\n    INCLUDE_SOURCE(true),\n"
        "    STRICT(false);\n\n    Feature(boolean on) {}\n}\n"
    )
    flipped = enum.replace("INCLUDE_SOURCE(true)", "INCLUDE_SOURCE(false)")
    assert "surface.constant" in facts("src/main/java/a/Feature.java", enum, flipped)


def test_rust_self_for_the_impl_type_is_not_a_signature_change() -> None:
    old = (
        "pub struct Message(Vec<u8>);\n\nimpl Message {\n"
        "    pub fn binary(bytes: Vec<u8>) -> Message {\n        Message(bytes)\n    }\n}\n"
    )
    new = old.replace("-> Message {\n        Message(", "-> Self {\n        Self(")
    found = facts("src/ws.rs", old, new)
    assert "surface.signature" not in found and "surface.annotation" not in found, found
    assert list(found) == ["mechanical.rename"], found
    other = old.replace("-> Message {", "-> Option<Message> {")
    assert "surface.signature" in facts("src/ws.rs", old, other)
    generic = (
        "pub struct Router<S>(S);\n\nimpl<S> Router<S> {\n"
        "    pub fn layer(self, n: u8) -> Router<S> {\n        self\n    }\n}\n"
    )
    assert "surface.signature" not in facts(
        "src/router.rs", generic, generic.replace("-> Router<S> {", "-> Self {")
    )


def test_a_shell_script_in_a_go_template_string_is_shell_not_strings_only() -> None:
    """cobra's fish completion: only the script inside a raw string changes."""
    script = (
        "package cobra\n\nfunc fishScript() string {\n\treturn `\nfunction __complete\n"
        '    set -l args (commandline -opc)\n    set -l requestComp "$args[1] $args[2..-1]"\n'
        "    eval $requestComp\nend\n`\n}\n"
    )
    quoted = script.replace(
        '"$args[1] $args[2..-1]"', '"$args[1] $(string escape -- $args[2..-1])"'
    )
    found = facts("fish_completions.go", script, quoted)
    assert "security.shell" in found and "mechanical.strings_only" not in found, found
    usage = script + '\nfunc usage() string {\n\treturn "usage: complete"\n}\n'
    message = usage.replace('"usage: complete"', '"usage: complete [flags]"')
    assert list(facts("fish_completions.go", usage, message)) == ["mechanical.strings_only"]
