// A shared library that is not a Ferry plugin: it exports no ferry_plugin_entry.
int ferry_fixture_something_else(int x) { return x + 1; }
