import FerryBSON
import Testing

@testable import FerryConfig

@Suite struct MongoCaptureConfigTests {
    @Test func viamsExampleUsesTheDefaultDatabaseAndCollection() throws {
        let config = try ConfigParser.parse(
            #"{"services": [{"name": "dm", "namespace": "rdk", "type": "data_manager", "attributes": {"mongo_capture_config": {"uri": "mongodb://127.0.0.1:27017/?directConnection=true&serverSelectionTimeoutMS=2000"}}}]}"#,
            baseDirectory: "/etc/ferry")
        let mongo = try #require(config.dataManager.mongoCapture)
        #expect(mongo.database == "sensorData" && mongo.collection == "readings")
        #expect(mongo.uri.hosts == [MongoURI.Host(host: "127.0.0.1", port: 27017)])
        #expect(mongo.uri.connectTimeoutMS == 2000, "server selection bounds the wait for a connection")
        #expect(mongo.uri.tls == false && mongo.uri.username == nil)
    }

    @Test func anEmptyURIMeansNoMongoCaptureAndFaultsNameTheirPath() throws {
        let empty = try ConfigParser.parse(
            #"{"services": [{"type": "data_manager", "attributes": {"mongo_capture_config": {"uri": ""}}}]}"#, baseDirectory: "/")
        #expect(empty.dataManager.mongoCapture == nil)
        do {
            _ = try ConfigParser.parse(
                #"{"services": [{"type": "data_manager", "attributes": {"mongo_capture_config": {"uri": "mongodb+srv://x", "collection": "a$b", "extra": 1}}}]}"#,
                baseDirectory: "/")
            Issue.record("accepted")
        } catch {
            let faults = error.faults.map(\.description)
            #expect(faults.contains { $0.hasPrefix("services[0].attributes.mongo_capture_config.uri: mongodb+srv://") }, "\(faults)")
            #expect(faults.contains { $0.hasPrefix("services[0].attributes.mongo_capture_config.collection:") }, "\(faults)")
            #expect(faults.contains { $0.hasPrefix("services[0].attributes.mongo_capture_config.extra") }, "\(faults)")
        }
    }

    @Test func uriCredentialsOptionsAndHostsParse() throws {
        let uri = try MongoURI(
            "mongodb://db-user-a%40b:S3cret%21pass@h1:27018,[::1],h3/sensorData?tls=true&tlsCAFile=certs/ca.pem&authSource=admin&appName=x",
            baseDirectory: "/etc/ferry")
        #expect(uri.username == "db-user-a@b" && uri.password == "S3cret!pass")
        #expect(uri.hosts == [.init(host: "h1", port: 27018), .init(host: "::1", port: 27017), .init(host: "h3", port: 27017)])
        #expect(uri.tls && uri.tlsCAFile == "/etc/ferry/certs/ca.pem" && uri.authSource == "admin")
        #expect(!uri.description.contains("S3cret"), "logs never show the password")
        #expect(try MongoURI("mongodb://u:p@h/mydb").authSource == "mydb", "the URI's database is the default auth source")
        #expect(try MongoURI("mongodb://h/?ssl=true").tls)
    }

    @Test func badURIsAreRefusedSayingWhy() {
        for (text, fragment) in [
            ("http://h", "starts with mongodb://"), ("mongodb://", "no host"), ("mongodb://h:0", "port 0"), ("mongodb://h:x", "port x"),
            ("mongodb://:p@h", "user name is empty"), ("mongodb://h/?tls=maybe", "tls must be true or false"),
            ("mongodb://h/?authMechanism=SCRAM-SHA-1", "SCRAM-SHA-256"), ("mongodb://%2Ftmp%2Fm.sock", "Unix domain sockets"),
            ("mongodb://h/?connectTimeoutMS=-1", "connectTimeoutMS"),
        ] {
            do {
                _ = try MongoURI(text)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.message.contains(fragment), "\(text): \(error)")
            }
        }
    }
}
