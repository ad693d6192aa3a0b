import FerryAPI
import FerryClock
import FerryMQL
import FerryPipelines
import FerryStore
import GRPCCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The dashboard's handlers: sign-in and sessions, then one page per job (Machines, Data, Query,
/// Pipelines). Every page reads through the same calls as the gRPC API (the store's paged reads,
/// `QueryRunner`, `PipelineManager`), scoped to the signed-in key's organisation. Changes are POSTs
/// with the session's CSRF token; the server checks the role on every change, whatever the page showed.
package struct Dashboard: Sendable {
    let store: any DataStore
    let queries: QueryRunner
    let pipelines: PipelineManager
    let sessions: SessionCodec
    let clock: any FerryClock
    let sessionLifetime: Duration
    /// Cookies are `Secure` when the dashboard is served over TLS.
    let secureCookies: Bool
    let logger: Logger
    /// Called after a pipeline is created or changed here: wakes the scheduler, as the gRPC API does.
    let pipelineChanged: @Sendable () async -> Void
    let signInLimiter: SignInLimiter
    let thumbnails: ThumbnailCache

    static let sessionCookie = "ferry_session"
    static let signInCookie = "ferry_signin"

    package init(
        store: any DataStore, operators: MQLOperatorRegistry, tokenSigningKey: [UInt8], clock: any FerryClock = SystemClock(),
        sessionLifetime: Duration = .seconds(8 * 3600), secureCookies: Bool = true, signInLimits: SignInLimiter.Options = .init(),
        thumbnailCacheBytes: Int = 32 << 20, logger: Logger = Logger(label: "ferry.dashboard"),
        pipelineChanged: @escaping @Sendable () async -> Void = {}
    ) {
        self.store = store
        queries = QueryRunner(store: store, operators: operators)
        pipelines = PipelineManager(store: store, operators: operators, clock: clock)
        sessions = SessionCodec(tokenSigningKey: tokenSigningKey)
        self.clock = clock
        self.sessionLifetime = sessionLifetime
        self.secureCookies = secureCookies
        self.logger = logger
        self.pipelineChanged = pipelineChanged
        signInLimiter = SignInLimiter(options: signInLimits, clock: clock)
        thumbnails = ThumbnailCache(capacity: thumbnailCacheBytes)
    }

    package func router() -> Router<DashboardContext> {
        let router = Router(context: DashboardContext.self)
        router.get("/") { _, _ in Self.redirect("/machines") }
        router.get("/static/dashboard.css") { _, _ in Self.asset(HTML.css, type: "text/css; charset=utf-8") }
        router.get("/static/dashboard.js") { _, _ in Self.asset(HTML.script, type: "text/javascript; charset=utf-8") }
        router.get("/signin") { request, _ in signInPage(request) }
        router.post("/signin") { request, context in try await signIn(request, context) }
        router.post("/signout") { request, context in
            try await changing(request, context, needs: .viewer, to: "signing out") { _, _ in
                Self.redirect("/signin", cookies: [cookie(Self.sessionCookie, "", maxAge: 0)])
            }
        }
        router.get("/machines") { request, _ in
            await page(request, title: "Machines", active: "/machines") { session in try await machinesPage(session) }
        }
        router.get("/machines/fragment") { request, _ in
            await fragment(request) { session in try await machinesTable(session) }
        }
        router.get("/data") { request, _ in
            await page(request, title: "Data", active: "/data") { session in try await dataPage(session, Form(request.uri.query)) }
        }
        router.get("/data/fragment") { request, _ in
            await fragment(request) { session in try await readingsSection(session, Form(request.uri.query)) }
        }
        router.get("/data/export.jsonl") { request, _ in await export(request, format: .jsonl) }
        router.get("/data/export.csv") { request, _ in await export(request, format: .csv) }
        router.get("/query") { request, _ in
            await page(request, title: "Query", active: "/query") { session in try await queryPage(session, Form(request.uri.query)) }
        }
        registerPipelineRoutes(router)
        registerFileRoutes(router)
        return router
    }

    // MARK: Sign-in

    /// The sign-in form. Its CSRF token is tied to a nonce in a short-lived cookie (double submit),
    /// so another site cannot sign a browser in with its own key.
    func signInPage(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let nonce = SessionCodec.newNonce()
        let token = sessions.csrfToken(nonce: nonce, purpose: "signin")
        let body = """
            \(error.map(HTML.alert) ?? "")
            <p>Sign in with an API key of your organisation (<code>ferry key create --org ORG --role viewer</code> makes one).</p>
            <form method="post" action="/signin" class="filters" id="signin">
            \(HTML.csrfField(token))
            <label>API key id <input name="key_id" id="key_id" required autocomplete="username"></label>
            <label>API key <input name="key" id="key" type="password" required autocomplete="current-password"></label>
            <button type="submit">Sign in</button>
            </form>
            """
        return Self.html(HTML.page(title: "Sign in", session: nil, csrf: nil, body: body), status: status, cookies: [cookie(Self.signInCookie, nonce, maxAge: 1800)])
    }

    func signIn(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let form = try await Self.form(request, context)
        guard let nonce = request.cookies[Self.signInCookie]?.value, sessions.checkCSRF(form.raw("csrf"), nonce: nonce, purpose: "signin") else {
            return forbidden("the sign-in form expired or did not come from this server (CSRF check failed); load the sign-in page again")
        }
        // Counted before the key is checked; a sign-in that succeeds gets its token back.
        let client = SignInLimiter.key(context.remoteAddress)
        if let wait = signInLimiter.take(client) {
            let seconds = max(1, Int(wait.inSeconds.rounded(.up)))
            logger.notice("dashboard sign-in refused: too many failed sign-ins", metadata: ["client": "\(client)", "retry_after": "\(seconds)"])
            var response = signInPage(
                request, error: "too many failed sign-ins from your address or to this server; try again in \(seconds) seconds",
                status: .tooManyRequests)
            response.headers[.retryAfter] = "\(seconds)"
            return response
        }
        let identity: APIKeyIdentity?
        do {
            identity = try await store.verifyAPIKey(id: form["key_id"], secret: form["key"])
        } catch {
            signInLimiter.giveBack(client)
            logger.warning("dashboard sign-in could not check a key: \(error)")
            return signInPage(request, error: "cannot check the key now: \(error)", status: .serviceUnavailable)
        }
        guard let identity else {
            return signInPage(request, error: "unknown API key id or wrong key (or the key was revoked)", status: .unauthorized)
        }
        signInLimiter.giveBack(client)
        let session = Session(
            keyID: identity.keyID, organizationID: identity.organizationID, role: identity.role,
            expires: Int64(clock.now().adding(sessionLifetime).timeIntervalSince1970), nonce: SessionCodec.newNonce())
        return Self.redirect(
            "/machines",
            cookies: [
                cookie(Self.sessionCookie, sessions.encode(session), maxAge: Int(sessionLifetime.inSeconds)),
                cookie(Self.signInCookie, "", maxAge: 0),
            ])
    }

    /// The signed-in session: a cookie this server signed, not expired on `clock`, whose key is still active.
    func session(_ request: Request) async -> Session? {
        guard let value = request.cookies[Self.sessionCookie]?.value, let session = sessions.decode(value, now: clock.now()) else { return nil }
        guard (try? await store.isAPIKeyActive(id: session.keyID)) == true else { return nil }
        return session
    }

    // MARK: Page plumbing

    /// A full page for a signed-in caller; anyone else is sent to sign in.
    func page(_ request: Request, title: String, active: String, _ content: (Session) async throws -> String) async -> Response {
        guard let session = await session(request) else { return Self.redirect("/signin") }
        let body: String
        do {
            body = try await content(session)
        } catch {
            let status = Self.status(for: error)
            if status == .internalServerError { logger.warning("dashboard page \(request.uri.path) failed: \(error)") }
            return Self.html(
                HTML.page(title: title, session: session, csrf: csrf(session), active: active, body: HTML.alert(Self.message(error))),
                status: status)
        }
        return Self.html(HTML.page(title: title, session: session, csrf: csrf(session), active: active, body: body))
    }

    /// A fragment for the live refresh: 401 when the session has gone (the script keeps the old content).
    func fragment(_ request: Request, _ content: (Session) async throws -> String) async -> Response {
        guard let session = await session(request) else { return Self.html(HTML.alert("signed out"), status: .unauthorized) }
        do {
            return Self.html(try await content(session))
        } catch {
            return Self.html(HTML.alert(Self.message(error)), status: .internalServerError)
        }
    }

    /// A POST that changes something: refused with 403 without the session's CSRF token or below `role`.
    func changing(
        _ request: Request, _ context: DashboardContext, needs role: APIKeyRole, to action: String,
        _ body: (Session, Form) async throws -> Response
    ) async throws -> Response {
        let form = try await Self.form(request, context)
        guard let session = await session(request) else { return Self.redirect("/signin") }
        guard sessions.checkCSRF(form.raw("csrf"), nonce: session.nonce) else {
            return forbidden("the form did not carry this session's CSRF token; reload the page and try again", session: session)
        }
        guard session.role.includes(role) else {
            // The API's wording (Caller.require).
            return forbidden(
                "API key \(session.keyID) has role \(session.role.rawValue); \(action) needs \(role.rawValue) or above", session: session)
        }
        do {
            return try await body(session, form)
        } catch {
            return Self.html(
                HTML.page(title: "Not done", session: session, csrf: csrf(session), body: HTML.alert(Self.message(error))),
                status: Self.status(for: error))
        }
    }

    /// The HTTP status of a page's error: bad input 400, another organisation's or a missing thing 404.
    static func status(for error: any Error) -> HTTPResponse.Status {
        switch error {
        case let error as PageError: error.status
        case let error as PipelineError where error.kind == .notFound: .notFound
        case let error as PipelineError where error.kind == .conflict: .conflict
        case let error as StoreError where error.kind == .notFound: .notFound
        case let error as RPCError where error.code == .notFound: .notFound
        case is PipelineError, is RPCError, is StoreError: .badRequest
        default: .internalServerError
        }
    }

    func csrf(_ session: Session) -> String { sessions.csrfToken(nonce: session.nonce) }

    func forbidden(_ message: String, session: Session? = nil) -> Response {
        Self.html(
            HTML.page(title: "Refused", session: session, csrf: session.map(csrf), body: HTML.alert(message)), status: .forbidden)
    }

    func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict\(secureCookies ? "; Secure" : "")"
    }

    static func form(_ request: Request, _ context: DashboardContext) async throws -> Form {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        return Form(String(buffer: body))
    }

    /// What an error says to a person: an API error's message as the API words it.
    static func message(_ error: any Error) -> String {
        if let error = error as? PageError { return error.message }
        return APIErrorText.message(error)
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok, cookies: [String] = []) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "private, max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Only our own script and stylesheet run; nothing frames the dashboard; pages are not cached.
    static var securityHeaders: HTTPFields {
        var headers = HTTPFields()
        headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return headers
    }
}

/// A page's own refusal or bad input, shown in the page with its status.
struct PageError: Error {
    var status: HTTPResponse.Status = .badRequest
    var message: String
    init(_ message: String, status: HTTPResponse.Status = .badRequest) {
        self.message = message
        self.status = status
    }
}

/// Errors as the gRPC API words them: its status messages, the store's and the pipeline manager's.
enum APIErrorText {
    static func message(_ error: any Error) -> String {
        switch error {
        case let error as RPCError: error.message
        case let error as StoreError: error.message
        case let error as PipelineError: error.message
        default: "\(error)"
        }
    }
}
