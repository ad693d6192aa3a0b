import Foundation

/// The dashboard's HTML is built by small functions over strings. Every string that did not come
/// from this file (a tag, a component name, a reading, an error message, an id) goes through `esc`,
/// the one escaping function, before it is placed in text or in a quoted attribute.
enum HTML {
    /// Escapes text for HTML text and double- or single-quoted attribute values.
    static func esc(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\0": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A query-string component (for links built from user data), escaped for the attribute too.
    static func query(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.filter { !$0.1.isEmpty }.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    /// The page frame: navigation (when signed in), the title, the content.
    static func page(title: String, session: Session?, csrf: String?, active: String = "", body: String) -> String {
        var nav = ""
        if let session {
            let links = [("/machines", "Machines"), ("/data", "Data"), ("/files", "Files"), ("/query", "Query"), ("/pipelines", "Pipelines")]
            nav = "<nav aria-label=\"Main\"><ul>"
                + links.map { path, name in
                    "<li><a href=\"\(path)\"\(path == active ? " aria-current=\"page\"" : "")>\(name)</a></li>"
                }.joined()
                + "</ul><form method=\"post\" action=\"/signout\" class=\"signout\">\(csrfField(csrf))"
                + "<span class=\"who\">\(esc(session.keyID)) · \(esc(session.role.rawValue)) · org \(esc(session.organizationID))</span> "
                + "<button type=\"submit\">Sign out</button></form></nav>"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(esc(title)) · Ferry</title>
            <link rel="stylesheet" href="/static/dashboard.css">
            <script src="/static/dashboard.js" defer></script>
            </head><body>
            <a class="skip" href="#main">Skip to content</a>
            <header><a class="brand" href="/machines">Ferry</a>\(nav)</header>
            <main id="main"><h1>\(esc(title))</h1>
            \(body)
            </main></body></html>
            """
    }

    static func csrfField(_ token: String?) -> String {
        guard let token else { return "" }
        return "<input type=\"hidden\" name=\"csrf\" value=\"\(esc(token))\">"
    }

    /// A table: header cells and rows of already-escaped cells.
    static func table(caption: String, headers: [String], rows: [[String]], id: String? = nil) -> String {
        var out = "<div class=\"scroll\"><table\(id.map { " id=\"\(esc($0))\"" } ?? "")><caption>\(esc(caption))</caption><thead><tr>"
        out += headers.map { "<th scope=\"col\">\(esc($0))</th>" }.joined()
        out += "</tr></thead><tbody>"
        for row in rows { out += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>" }
        out += "</tbody></table></div>"
        return out
    }

    static func alert(_ message: String) -> String { "<p class=\"error\" role=\"alert\">\(esc(message))</p>" }

    static func notice(_ message: String) -> String { "<p class=\"notice\" role=\"status\">\(esc(message))</p>" }

    /// A labelled text input.
    static func input(_ name: String, label: String, value: String, type: String = "text", placeholder: String = "") -> String {
        "<label>\(esc(label)) <input type=\"\(type)\" name=\"\(name)\" value=\"\(esc(value))\"\(placeholder.isEmpty ? "" : " placeholder=\"\(esc(placeholder))\"")></label>"
    }

    /// UTC time of a millisecond timestamp, as people read it.
    static func time(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate, .withSpaceBetweenDateAndTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) + " UTC"
    }

    /// The stylesheet: one small string, readable contrast, usable at a phone's width.
    static let css = """
        :root{--fg:#1a1a1a;--bg:#fff;--muted:#555;--line:#ccc;--accent:#0b5cad;--bad:#a40000;--ok:#1b6e20}
        *{box-sizing:border-box}
        body{margin:0;font:16px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
        header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.5rem 1rem;border-bottom:1px solid var(--line)}
        .skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;padding:.25rem .5rem;z-index:1}
        .brand{font-weight:700;text-decoration:none;color:var(--fg)}
        nav{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;flex:1}
        nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0;padding:0}
        nav a[aria-current]{font-weight:700;text-decoration:underline}
        .signout{margin-left:auto}.who{color:var(--muted);font-size:.85rem}
        main{padding:1rem;max-width:1200px}
        a{color:var(--accent)}
        a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f5a623;outline-offset:1px}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
        caption{text-align:left;font-weight:600;padding:.25rem 0}
        th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
        td code{white-space:pre-wrap;word-break:break-word;font-size:.85rem}
        form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end;margin-bottom:1rem}
        label{display:inline-flex;flex-direction:column;font-size:.9rem;gap:.15rem}
        input,select,textarea,button{font:inherit;padding:.3rem .45rem;border:1px solid #767676;border-radius:3px;background:#fff;color:var(--fg)}
        button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}
        button.danger{background:var(--bad);border-color:var(--bad)}
        textarea{width:100%;min-height:8rem;font-family:ui-monospace,monospace}
        .error{color:var(--bad);border-left:4px solid var(--bad);padding:.3rem .6rem;background:#fff3f3}
        .notice{color:var(--ok);border-left:4px solid var(--ok);padding:.3rem .6rem;background:#f3fff3}
        .pager{display:flex;gap:1rem;margin:.5rem 0}
        svg{max-width:100%;height:auto;border:1px solid var(--line)}
        .muted{color:var(--muted)}
        .gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:1rem;list-style:none;padding:0}
        .gallery figure{margin:0}.gallery figcaption{font-size:.85rem;word-break:break-word}
        .thumb,.full{position:relative;display:inline-block;max-width:100%}
        .thumb img{display:block;max-width:100%;height:auto}
        .full{display:block;width:100%;max-width:800px}.full img{display:block;width:100%;height:auto;image-rendering:pixelated}
        .tile{display:flex;flex-direction:column;align-items:center;justify-content:center;gap:.25rem;aspect-ratio:4/3;background:#f4f4f4;border:1px solid var(--line);padding:.5rem;text-align:center;word-break:break-word}
        .tile svg.icon{width:48px;height:60px;border:0}
        .thumb svg.boxes,.full svg.boxes{position:absolute;left:0;top:0;width:100%;height:100%;border:0}
        dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.meta dd{margin:0;word-break:break-word}
        .inline{display:inline}
        @media (max-width:600px){main{padding:.5rem}th,td{padding:.2rem .3rem;font-size:.85rem}}
        """

    /// The script: refreshes elements marked `data-refresh` by fetching their fragment every few
    /// seconds (live pages without a reload); nothing else depends on JavaScript.
    static let script = """
        "use strict";
        document.querySelectorAll("[data-refresh]").forEach(function (el) {
          var every = parseInt(el.getAttribute("data-every") || "5000", 10);
          setInterval(function () {
            fetch(el.getAttribute("data-refresh"), {credentials: "same-origin", headers: {"Accept": "text/html"}})
              .then(function (r) { return r.ok ? r.text() : null; })
              .then(function (html) { if (html !== null) { el.innerHTML = html; el.setAttribute("data-refreshed", String(Date.now())); } })
              .catch(function () {});
          }, every);
        });
        """
}
