"""The published Viam Python SDK (viam-sdk 0.85.1, unmodified) against a real `ferry run --listen`
host over TLS: RobotClient connects with an API key from the config's auth.handlers, reads each of
the nine component APIs through its usual client, calls DoCommand, GetVersion and GetMachineStatus,
asks the data manager to sync (the SDK has no DataManagerClient, so through its generated stub on
the robot's authenticated channel) and sees the sync happen; a wrong key and a viewer's DoCommand
are refused.

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/viam_sdk_machine_e2e.py /path/to/ferry
Exits 0 when every check passes; prints what failed otherwise."""

import asyncio
import json
import os
import sys
import tempfile
import time

try:
    from grpclib import GRPCError, Status
    from viam.components.arm import Arm
    from viam.components.board import Board
    from viam.components.camera import Camera
    from viam.components.encoder import Encoder
    from viam.components.gantry import Gantry
    from viam.components.motor import Motor
    from viam.components.movement_sensor import MovementSensor
    from viam.components.sensor import Sensor
    from viam.components.servo import Servo
    from viam.gen.service.datamanager.v1.data_manager_grpc import DataManagerServiceStub
    from viam.gen.service.datamanager.v1.data_manager_pb2 import SyncRequest
    from viam.proto.common import GetReadingsRequest
    from viam.proto.component.sensor import SensorServiceStub
    from viam.robot.client import RobotClient
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import check, failures, finish, start_logged, stop

OWNER_ID, OWNER_KEY = "3f1c6a52-7d4e-4b8a-9c2d-1e5f7a9b0c11", "owner-key-5d8e2a71c4b94f06"
VIEWER_ID, VIEWER_KEY = "8a2b4c6d-1e3f-4a5b-8c7d-9e0f1a2b3c4d", "viewer-key-0b7c9e3f5a1d4c28"

COMPONENTS = {
    "temp": "sensor", "arm": "arm", "board": "board", "cam": "camera", "knob": "encoder", "rail": "gantry",
    "wheel": "motor", "imu": "movement_sensor", "flap": "servo",
}


def machine_config(capture_dir):
    components = [{"name": name, "type": api, "namespace": "rdk", "model": "fake"} for name, api in COMPONENTS.items()]
    # Something to sync: the sensor is captured; scheduled syncs are an hour apart, so a sync that
    # happens within the test is the one DataManager.Sync asked for.
    components[0]["service_configs"] = [{"type": "data_manager", "attributes": {
        "capture_methods": [{"method": "Readings", "capture_frequency_hz": 20}]}}]
    return {
        "components": components,
        "services": [{"name": "dm", "namespace": "rdk", "type": "data_manager", "attributes": {
            "capture_dir": capture_dir, "sync_interval_mins": 60,
            "ferry": {"api_key_roles": {VIEWER_ID: "viewer"}}}}],
        "auth": {"handlers": [{"type": "api-key", "config": {
            OWNER_ID: OWNER_KEY, VIEWER_ID: VIEWER_KEY, "keys": [OWNER_ID, VIEWER_ID]}}]},
    }


def synced_records(capture_dir):
    try:
        with open(os.path.join(capture_dir, ".ferry", "sync-status.json")) as status:
            return json.load(status).get("synced_records", 0)
    except (OSError, ValueError):
        return 0


async def connect(port, key_id, key):
    options = RobotClient.Options.with_api_key(api_key=key, api_key_id=key_id)
    options.dial_options.disable_webrtc = True
    options.refresh_interval = 0
    options.check_connection_interval = 0
    options.attempt_reconnect_interval = 0
    return await RobotClient.at_address(f"127.0.0.1:{port}", options)


async def main(port, capture_dir):
    robot = await connect(port, OWNER_ID, OWNER_KEY)
    names = {(r.subtype, r.name) for r in robot.resource_names}
    check({(api, name) for name, api in COMPONENTS.items()} | {("data_manager", "dm")} <= names,
          f"ResourceNames lists every component and the data manager: {sorted(names)}")

    readings = await Sensor.from_robot(robot, "temp").get_readings()
    check(isinstance(readings.get("temperature_celsius"), float), f"sensor GetReadings: {readings}")

    arm = Arm.from_robot(robot, "arm")
    joints = await arm.get_joint_positions()
    check(len(joints.values) == 6, f"arm GetJointPositions: {joints}")
    pose = await arm.get_end_position()
    check(abs(pose.x) + abs(pose.y) + abs(pose.z) > 1, f"arm GetEndPosition: {pose}")

    board = Board.from_robot(robot, "board")
    high = await (await board.gpio_pin_by_name("11")).get()
    check(isinstance(high, bool), f"board GetGPIO: {high}")
    analog = await (await board.analog_by_name("a1")).read()
    check(0 <= analog.value <= 1023 and abs(analog.max_range - 3.3) < 1e-6, f"board ReadAnalogReader: {analog}")

    camera = Camera.from_robot(robot, "cam")
    images, metadata = await camera.get_images()
    check(len(images) == 2 and images[0].data[:8] == b"\x89PNG\r\n\x1a\n", f"camera GetImages: {[i.name for i in images]}")
    check(images[0].name == "cam", f"the first image is named after the camera: {images[0].name}")
    check(metadata.captured_at.seconds > 0, "GetImages says when it captured")
    cloud, mime = await camera.get_point_cloud()
    check(mime == "pointcloud/pcd" and cloud.startswith(b"# .PCD"), f"camera GetPointCloud: {mime} {cloud[:20]!r}")

    ticks, kind = await Encoder.from_robot(robot, "knob").get_position()
    check(kind == 1 and ticks >= 0, f"encoder GetPosition: {ticks} {kind}")  # 1: POSITION_TYPE_TICKS_COUNT

    rail = Gantry.from_robot(robot, "rail")
    positions, lengths = await rail.get_position(), await rail.get_lengths()
    check(len(positions) == len(lengths) > 0, f"gantry GetPosition/GetLengths: {positions} {lengths}")

    wheel = Motor.from_robot(robot, "wheel")
    position = await wheel.get_position()
    powered, power = await wheel.is_powered()
    check(isinstance(position, float) and isinstance(powered, bool), f"motor GetPosition/IsPowered: {position} {powered} {power}")

    imu = MovementSensor.from_robot(robot, "imu")
    point, altitude = await imu.get_position()
    check(-90 <= point.latitude <= 90 and -180 <= point.longitude <= 180, f"movement sensor GetPosition: {point} {altitude}")
    velocity = await imu.get_linear_velocity()
    spin = await imu.get_angular_velocity()
    acceleration = await imu.get_linear_acceleration()
    heading = await imu.get_compass_heading()
    orientation = await imu.get_orientation()
    check(0 <= heading <= 360, f"movement sensor GetCompassHeading: {heading}")
    check(abs(orientation.o_x ** 2 + orientation.o_y ** 2 + orientation.o_z ** 2 - 1) < 1e-6,
          f"movement sensor GetOrientation is a unit axis: {orientation}")
    check(all(v is not None for v in (velocity, spin, acceleration)), "movement sensor velocities and acceleration")

    degrees = await Servo.from_robot(robot, "flap").get_position()
    check(0 <= degrees <= 180, f"servo GetPosition: {degrees}")

    echoed = await wheel.do_command({"set_power": 0.25, "note": "hello"})
    check(echoed == {"set_power": 0.25, "note": "hello"}, f"DoCommand reaches the component: {echoed}")

    version = await robot.get_version()
    check(version.platform == "ferry" and version.api_version.startswith("v0.1."), f"GetVersion: {version}")
    status = await robot.get_machine_status()
    ready = {r.name.name for r in status.resources if r.state == r.STATE_READY}
    check(set(COMPONENTS) <= ready and status.state == status.STATE_RUNNING, f"GetMachineStatus: {len(status.resources)} resources, ready: {sorted(ready)}")

    try:
        await SensorServiceStub(robot._channel).GetReadings(GetReadingsRequest(name="nope"))
        check(False, "an unknown sensor is refused")
    except GRPCError as error:
        check(error.status == Status.NOT_FOUND and "temp" in error.message, f"an unknown sensor: {error.status} {error.message}")

    before = synced_records(capture_dir)
    await DataManagerServiceStub(robot._channel).Sync(SyncRequest(name="dm"))
    deadline = time.monotonic() + 120
    while synced_records(capture_dir) <= before and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    check(synced_records(capture_dir) > before, f"DataManager Sync made the host sync ({synced_records(capture_dir)} records)")
    try:
        await DataManagerServiceStub(robot._channel).Sync(SyncRequest(name="other"))
        check(False, "Sync names the data manager")
    except GRPCError as error:
        check(error.status == Status.NOT_FOUND, f"Sync of another name: {error.status} {error.message}")
    await robot.close()

    viewer = await connect(port, VIEWER_ID, VIEWER_KEY)
    check(isinstance(await Sensor.from_robot(viewer, "temp").get_readings(), dict), "a viewer reads")
    try:
        await Motor.from_robot(viewer, "wheel").do_command({"set_power": 1})
        check(False, "a viewer's DoCommand is refused")
    except GRPCError as error:
        check(error.status == Status.PERMISSION_DENIED and "operator" in error.message,
              f"a viewer's DoCommand: {error.status} {error.message}")
    await viewer.close()

    try:
        await connect(port, OWNER_ID, "not-the-key-0123456789")
        check(False, "a wrong API key is refused")
    except Exception as error:  # the SDK wraps the UNAUTHENTICATED answer in a ConnectionError
        check("Unable to establish a connection" in str(error) or "UNAUTHENTICATED" in str(error),
              f"a wrong API key is refused: {error!r}")


def run():
    with tempfile.TemporaryDirectory() as work:
        capture_dir = os.path.join(work, "capture")
        config = os.path.join(work, "machine.json")
        with open(config, "w") as out:
            json.dump(machine_config(capture_dir), out)
        host, ports, log = start_logged(
            ["run", config, "--listen", "127.0.0.1:0"], {"machine": r"serving Viam's machine API on [^ ]+:(\d+)"})
        try:
            asyncio.run(main(ports["machine"], capture_dir))
        finally:
            stop(host)
            if failures or sys.exc_info()[0] is not None:
                print("--- ferry run output ---\n" + "".join(log))
    finish()


if __name__ == "__main__":
    run()
