# supervision: a supervisor restarts a crashing worker until the crashes
# come too fast, then gives up and escalates to main (samples/supervision.c).
add_executable(sample_supervision ${CMAKE_CURRENT_LIST_DIR}/supervision.c)
set_target_properties(sample_supervision PROPERTIES OUTPUT_NAME supervision)
target_link_libraries(sample_supervision PRIVATE grove)
if(GV_LIBM)
  target_link_libraries(sample_supervision PRIVATE ${GV_LIBM})
endif()
# About 3 s of sample time, 0.15 s scaled.
gv_sample_test(supervision MAX_SECONDS 10)
