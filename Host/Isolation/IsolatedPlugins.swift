import FerryLoader
import Foundation
import Logging

extension IsolatedModule {
    /// `ferry serve --isolate-all`: each library in a process of its own (`executable plugin-host
    /// LIB.so`), for the MQL operators it serves from there. A library whose process does not
    /// start is logged and left out, as a library that does not load in process is.
    package static func startEach(
        libraries: [String], executable: String, options: Options = Options(), logger: Logger
    ) -> [IsolatedModule] {
        libraries.compactMap { library in
            let module = IsolatedModule(
                launch: PluginProcess.Launch(executable: executable, library: library), label: "plugin \(library)", options: options, logger: logger)
            do throws(PluginCallError) {
                try module.start()
            } catch {
                logger.error("\(library): cannot start its plugin process: \(error.message)")
                return nil
            }
            let name = module.pluginName.map { "\($0.name) \($0.version)" } ?? "?"
            logger.info(
                "loaded plugin \(name) from \(library) into a process of its own (pid \(module.status.pid ?? 0), \(module.operators.count) MQL operators)")
            return module
        }
    }
}
