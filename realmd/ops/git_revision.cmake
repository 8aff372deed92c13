# Writes OUTPUT, a header defining REALMCHAT_GIT_REVISION (`git describe --always --dirty` of
# SOURCE_DIR, "unknown" outside a git checkout). Run at every build; the file is rewritten only
# when the revision changed, so an unchanged tree recompiles nothing.
execute_process(COMMAND git -C ${SOURCE_DIR} describe --always --dirty
                OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT revision)
  set(revision unknown)
endif()
set(content "#pragma once\n#define REALMCHAT_GIT_REVISION \"${revision}\"\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE ${OUTPUT} "${content}")
endif()
