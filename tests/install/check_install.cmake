# check_install.cmake — install the built tree into a scratch prefix, then
# build and run a consumer through the CMake package and through grove.pc.
#   cmake -DBUILD=<build dir> -DSRC=<this folder> -DWORK=<scratch> -P ...
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD}
                        --prefix ${WORK}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed: ${rc}")
endif()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

# 1. find_package(grove) + grove::grove
run("configure consumer" ${CMAKE_COMMAND} -S ${SRC} -B ${WORK}/cmake
    -DCMAKE_PREFIX_PATH=${WORK}/prefix)
run("build consumer" ${CMAKE_COMMAND} --build ${WORK}/cmake)
set(ENV{LD_LIBRARY_PATH} "${WORK}/prefix/lib:${WORK}/prefix/lib64")
run("run consumer" ${WORK}/cmake/consumer)
if(NOT out MATCHES "installed grove works")
  message(FATAL_ERROR "consumer printed: ${out}")
endif()

# 2. pkg-config grove
find_program(PKGCONF pkg-config REQUIRED)
find_program(CC NAMES cc gcc REQUIRED)
file(GLOB pcfile ${WORK}/prefix/lib*/pkgconfig/grove.pc
                 ${WORK}/prefix/lib/*/pkgconfig/grove.pc)
get_filename_component(pcdir "${pcfile}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pcdir}")
run("pkg-config" ${PKGCONF} --cflags --libs grove)
string(STRIP "${out}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run("cc with pkg-config" ${CC} ${SRC}/consumer.c ${flags}
    -o ${WORK}/pc-consumer)
run("run pc consumer" ${WORK}/pc-consumer)
if(NOT out MATCHES "installed grove works")
  message(FATAL_ERROR "pkg-config consumer printed: ${out}")
endif()
message(STATUS "install, find_package and pkg-config: ok")
