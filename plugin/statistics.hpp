// The statistics: the tdsdiag tap and what listens to it (see statistics.cpp).
#pragma once

namespace tdsdiag_plugin {

// The tdsdiag tap: frames.cpp queues each frame of ours (its FrameData, file_state.hpp) on it.
extern int tdsdiag_tap;

// Registers the tap, the -z tdsdiag,... reports, the Statistics menu's table and the Flow Graph's
// sequence analysis.
void register_statistics();

}  // namespace tdsdiag_plugin
