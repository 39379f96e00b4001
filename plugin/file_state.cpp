// The per-file state's life: made as each capture file opens, dropped as it closes.
#include "file_state.hpp"

#include <exception>

#include "registration.hpp"

namespace tdsdiag_plugin {

FileState* g_file = nullptr;

void file_cleanup() {
    delete g_file;
    g_file = nullptr;
}

void file_init() {
    file_cleanup();
    try {
        g_file = new FileState(make_config());
    } catch (const std::exception&) {
        file_cleanup();
    }
}

}  // namespace tdsdiag_plugin
