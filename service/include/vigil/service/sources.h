// Where frames come from: a watched folder, or a video file, camera or
// stream read through OpenCV. (Uploads over HTTP come through HttpApi.)
//
//   auto source = make_folder_source(watch_config, pipeline);
//   source->start();            // its own thread, feeding the pipeline
//   ...
//   source->request_stop();     // returns at once
//   source->join();             // after the frame being submitted is in
//
// A source waits while the pipeline is full (back-pressure): a folder
// simply fills up, a camera's driver drops frames it cannot hand over.
//
// Thread-safe: the methods may be called from any thread; the pipeline
// must outlive the source, and the source must outlive the pipeline's
// drain() (frames call back into it when done).
#pragma once

#include <memory>
#include <string>

#include "vigil/service/config.h"
#include "vigil/service/pipeline.h"

namespace vigil::service {

class Source {
 public:
  virtual ~Source() = default;
  virtual const std::string& name() const = 0;  // the source label
  virtual void start() = 0;
  virtual void request_stop() = 0;
  virtual void join() = 0;
  // Nothing left to read and every frame taken is done: a folder with no
  // file waiting, a video file at its end. A camera never finishes.
  virtual bool finished() const = 0;
};

// Polls `config.dir` for new image files (top level only; names starting
// with '.' or ending in .tmp or .part are ignored, so writers can rename a
// finished file into place). A file is taken once its size and time stay
// the same over one poll, submitted once, and then moved, deleted or left
// as config.after says; a file that is not a valid image goes to
// <dir>/failed (unless after is "leave"). Throws vigil::Error when the
// folder does not exist.
std::unique_ptr<Source> make_folder_source(const WatchConfig& config,
                                           Pipeline& pipeline);

// Reads frames with cv::VideoCapture. A file ends the source at its end; a
// camera or stream that fails is reopened after config.reconnect_ms.
// Frames are stored as lossless PNG.
std::unique_ptr<Source> make_video_source(const VideoConfig& config,
                                          Pipeline& pipeline);

}  // namespace vigil::service
