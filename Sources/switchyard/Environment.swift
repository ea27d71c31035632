import Foundation

/// Defaults for command-line flags, read from `SWITCHYARD_*` environment variables.
enum Env {
    static func string(_ name: String, _ fallback: String) -> String {
        let value = ProcessInfo.processInfo.environment[name]
        return value?.isEmpty == false ? value! : fallback
    }

    static func int(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? fallback
    }

    static func double(_ name: String, _ fallback: Double) -> Double {
        ProcessInfo.processInfo.environment[name].flatMap(Double.init) ?? fallback
    }

    static func optional(_ name: String) -> String? {
        let value = ProcessInfo.processInfo.environment[name]
        return value?.isEmpty == false ? value : nil
    }
}

/// Prints to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Prints to standard output unbuffered, so a supervisor or a log file sees the line at once.
func printNow(_ message: String) {
    FileHandle.standardOutput.write(Data((message + "\n").utf8))
}
